//! Settings: defaults, environment overrides, and one-line errors that name the key.

use super::*;

#[test]
fn defaults_fill_what_the_file_leaves_out() {
    let s = Settings::from_toml("").unwrap();
    assert_eq!(s.server.bind, "127.0.0.1:8080");
    assert_eq!(s.provisioning.workers, 4);
    assert_eq!(s.database.path, PathBuf::from("data/accessboard.db"));
    assert_eq!(s.audit.retention_days, 365);
}

#[test]
fn the_audit_section_is_read_and_refuses_unknown_keys() {
    let s = Settings::from_toml("[audit]\nretention_days = 30\n").unwrap();
    assert_eq!(s.audit.retention_days, 30);
    let e = Settings::from_toml("[audit]\nretention = 3\n").unwrap_err();
    assert!(e.0.contains("unknown setting audit.retention"), "{e}");
}

#[test]
fn the_time_zone_is_an_iana_name_looked_up_once() {
    assert_eq!(
        Settings::from_toml("").unwrap().server.zone,
        jiff::tz::TimeZone::UTC
    );
    let s = Settings::from_toml("[server]\ntimezone = \"Europe/Paris\"\n").unwrap();
    assert_eq!(s.server.zone.iana_name(), Some("Europe/Paris"));
    let e = Settings::from_toml("[server]\ntimezone = \"Mars/Olympus\"\n").unwrap_err();
    assert_eq!(
        e.0,
        "setting server.timezone: \"Mars/Olympus\" is not an IANA time zone name like UTC or Europe/Paris"
    );
}

#[test]
fn unknown_keys_and_bad_values_name_the_key() {
    let e = Settings::from_toml("[provisioning]\nworkerz = 3\n").unwrap_err();
    assert!(e.0.contains("unknown setting provisioning.workerz"), "{e}");
    let e = Settings::from_toml("[provisioning]\nworkers = 0\n").unwrap_err();
    assert!(e.0.contains("provisioning.workers"), "{e}");
    let e = Settings::from_toml("[server]\nbind = \"nowhere\"\n").unwrap_err();
    assert!(e.0.contains("server.bind"), "{e}");
    let e = Settings::from_toml(
        "[[apps]]\nslug = \"a\"\nname = \"A\"\n[apps.scim]\nbase_url = \"http://x/\"\ntoken = \"t\"\nuser_name = \"{mail}\"\n",
    )
    .unwrap_err();
    assert!(e.0.contains("scim.user_name"), "{e}");
    let e = Settings::from_toml("[[apps]]\nslug = \"Bad Slug\"\nname = \"A\"\n").unwrap_err();
    assert!(e.0.contains("slug"), "{e}");
}

#[test]
fn token_file_is_read_and_the_secret_never_prints() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "very-secret\n").unwrap();
    let s = Settings::from_toml(&format!(
        "[[apps]]\nslug = \"a\"\nname = \"A\"\n[apps.scim]\nbase_url = \"http://x/\"\ntoken_file = \"{}\"\n",
        file.display()
    ))
    .unwrap();
    let scim = s.apps[0].scim.as_ref().unwrap();
    assert_eq!(scim.token.as_ref().unwrap().expose(), "very-secret");
    assert!(!format!("{s:?}").contains("very-secret"));
}

fn app_with(scim_lines: &str) -> Result<Settings, SettingsError> {
    Settings::from_toml(&format!(
        "[[apps]]\nslug = \"files\"\nname = \"Files\"\n[apps.scim]\nbase_url = \"http://x/\"\n{scim_lines}\n"
    ))
}

#[test]
fn jwt_and_oauth2_settings_with_their_defaults() {
    let s = app_with(
        "auth = \"jwt\"\njwt_secret = \"jwt-s3cr3t\"\njwt_claims = { user = \"admin\", n = 1 }",
    )
    .unwrap();
    let scim = s.apps[0].scim.as_ref().unwrap();
    assert_eq!(scim.auth, AuthKind::Jwt);
    assert_eq!(scim.jwt_ttl_secs, 300);
    assert_eq!(scim.jwt_claims["user"], "admin");
    assert_eq!(scim.jwt_claims["n"], 1);
    assert!(!format!("{s:?}").contains("jwt-s3cr3t"));

    let s = app_with(
        "auth = \"oauth2\"\ntoken_url = \"https://id.example.org/oauth/token\"\nclient_id = \"accessboard\"\nclient_secret = \"cl-s3cr3t\"",
    )
    .unwrap();
    let scim = s.apps[0].scim.as_ref().unwrap();
    assert_eq!(scim.auth, AuthKind::Oauth2);
    assert_eq!(scim.token_auth, TokenAuthKind::Basic);
    assert_eq!(scim.scope, None);
    assert!(!format!("{s:?}").contains("cl-s3cr3t"));
    let s = app_with("auth = \"oauth2\"\ntoken_url = \"http://id/t\"\nclient_id = \"a\"\nclient_secret = \"b\"\nscope = \"scim\"\ntoken_auth = \"post\"").unwrap();
    let scim = s.apps[0].scim.as_ref().unwrap();
    assert_eq!(scim.token_auth, TokenAuthKind::Post);
    assert_eq!(scim.scope.as_deref(), Some("scim"));
}

#[test]
fn jwt_and_oauth2_mistakes_name_the_key_in_one_line_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "from-file-s3cr3t\n").unwrap();
    let cases = [
        ("auth = \"jwt\"", "scim.jwt_secret: is required"),
        (
            "auth = \"jwt\"\njwt_secret = \"\"",
            "scim.jwt_secret: is required",
        ),
        (
            "auth = \"jwt\"\njwt_secret = \"inline-s3cr3t\"\njwt_ttl_secs = 0",
            "scim.jwt_ttl_secs: must be at least 1",
        ),
        (
            "auth = \"jwt\"\njwt_secret = \"inline-s3cr3t\"\njwt_claims = { exp = 1 }",
            "scim.jwt_claims: exp is set by accessboard",
        ),
        (
            &format!(
                "auth = \"jwt\"\njwt_secret = \"inline-s3cr3t\"\njwt_secret_file = \"{}\"",
                file.display()
            ),
            "scim.jwt_secret_file: set either jwt_secret or jwt_secret_file, not both",
        ),
        (
            "auth = \"oauth2\"\nclient_id = \"a\"\nclient_secret = \"inline-s3cr3t\"",
            "scim.token_url: is required",
        ),
        (
            "auth = \"oauth2\"\ntoken_url = \"ftp://id/token\"\nclient_id = \"a\"\nclient_secret = \"inline-s3cr3t\"",
            "scim.token_url: \"ftp://id/token\" is not an http(s) URL",
        ),
        (
            "auth = \"oauth2\"\ntoken_url = \"https://a:inline-s3cr3t@id/token\"\nclient_id = \"a\"\nclient_secret = \"b\"",
            "scim.token_url: must not contain credentials",
        ),
        (
            "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_secret = \"inline-s3cr3t\"",
            "scim.client_id: is required",
        ),
        (
            "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_id = \"a\"",
            "scim.client_secret: is required",
        ),
        (
            &format!(
                "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_id = \"a\"\nclient_secret = \"inline-s3cr3t\"\nclient_secret_file = \"{}\"",
                file.display()
            ),
            "scim.client_secret_file: set either client_secret or client_secret_file, not both",
        ),
        (
            "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_id = \"a\"\nclient_secret = \"b\"\ntoken_auth = \"header\"",
            "scim.token_auth",
        ),
        (
            "auth = \"oauth2\"\ntoken_uri = \"http://id/token\"",
            "unknown setting apps.0.scim.token_uri",
        ),
    ];
    for (lines, expected) in cases {
        let e = app_with(lines).unwrap_err().0;
        assert!(e.contains(expected), "{lines:?}: {e}");
        assert!(!e.contains('\n'), "one line: {e}");
        assert!(!e.contains("s3cr3t"), "prints a secret: {e}");
    }
    let s = app_with(&format!(
        "auth = \"oauth2\"\ntoken_url = \"http://id/token\"\nclient_id = \"a\"\nclient_secret_file = \"{}\"",
        file.display()
    ))
    .unwrap();
    let scim = s.apps[0].scim.as_ref().unwrap();
    assert_eq!(
        scim.client_secret.as_ref().unwrap().expose(),
        "from-file-s3cr3t"
    );
}

#[test]
fn a_mistyped_secret_is_never_repeated_in_the_error() {
    for (lines, key) in [
        ("token = 918273645", "scim.token"),
        (
            "auth = \"basic\"\nusername = \"u\"\npassword = 55501234",
            "scim.password",
        ),
        ("token = true", "scim.token"),
    ] {
        let e = app_with(lines).unwrap_err().0;
        assert!(e.contains(key), "{e}");
        assert!(
            !e.contains("918273645") && !e.contains("55501234"),
            "prints a secret: {e}"
        );
        assert!(!e.contains('\n'), "{e}");
    }
    let e = app_with("token = 918273645").unwrap_err().0;
    assert!(e.contains("found a number"), "{e}");
    let e = Settings::from_toml(
        "[[apps]]\nslug = \"a\"\nname = \"A\"\n[apps.scim]\ntoken = \"t\"\nbase_url = \"ftp://x/?apikey=918273645\"\n",
    )
    .unwrap_err()
    .0;
    assert!(
        e.contains("scim.base_url") && !e.contains("918273645"),
        "{e}"
    );
    // A syntax error quotes the line in the parser's own message; not here.
    let e = app_with("token = 918273645abc").unwrap_err().0;
    assert!(!e.contains("918273645") && !e.contains('\n'), "{e}");
    assert!(e.contains("line"), "{e}");
}

#[test]
fn trusted_proxies_are_address_ranges() {
    let s = Settings::from_toml("[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n").unwrap();
    assert_eq!(s.server.trusted_proxies.len(), 2);
    assert!(s.server.trusted_proxies[0].contains("10.9.8.7".parse().unwrap()));
    assert!(
        Settings::from_toml("")
            .unwrap()
            .server
            .trusted_proxies
            .is_empty()
    );
    let e = Settings::from_toml("[server]\ntrusted_proxies = [\"10.0.0.0/40\"]\n").unwrap_err();
    assert!(e.0.contains("server.trusted_proxies"), "{e}");
    assert!(e.0.contains("10.0.0.0/40"), "{e}");
}

#[test]
fn delete_after_days_needs_disable_and_an_app_that_deletes() {
    let s = app_with("token = \"t\"\ndelete_after_days = 30").unwrap();
    let scim = s.apps[0].scim.as_ref().unwrap();
    assert_eq!(scim.delete_after_secs(), Some(30 * 86_400));
    let s = app_with("token = \"t\"").unwrap();
    assert_eq!(s.apps[0].scim.as_ref().unwrap().delete_after_secs(), None);
    for (lines, says) in [
        (
            "token = \"t\"\npreset = \"zulip\"\ndelete_after_days = 30",
            "scim.delete_after_days: Zulip refuses DELETE",
        ),
        (
            "token = \"t\"\non_deprovision = \"delete\"\ndelete_after_days = 30",
            "scim.delete_after_days: only works with on_deprovision = \"disable\"",
        ),
    ] {
        let e = app_with(lines).unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
        assert!(!e.contains('\n'), "one line: {e}");
    }
}

#[test]
fn the_import_columns_cannot_be_app_slugs() {
    for slug in ["groups", "email", "name", "admin"] {
        let e = Settings::from_toml(&format!(
            "[[apps]]\nslug = \"{slug}\"\nname = \"X\"\nurl = \"https://x.example\"\n"
        ))
        .unwrap_err();
        assert!(e.0.contains("is reserved"), "{slug}: {e}");
    }
}

#[test]
fn sign_in_links_last_48_hours_and_reset_links_an_hour_never_zero() {
    let s = Settings::from_toml("").unwrap();
    assert_eq!(
        (s.auth.invite_ttl_hours, s.auth.reset_ttl_minutes),
        (48, 60)
    );
    let s = Settings::from_toml("[auth]\nreset_ttl_minutes = 15\n").unwrap();
    assert_eq!(s.auth.reset_ttl_minutes, 15);
    let e = Settings::from_toml("[auth]\nreset_ttl_minutes = 0\n").unwrap_err();
    assert_eq!(e.0, "setting auth.reset_ttl_minutes: must be at least 1");
}
