//! Every message says what the change really did (issue 25): people who keep access
//! through a group are named as such, the revocation guard's holds count the change's own
//! people and show as a warning with a link, deleting someone no app knows sends nothing,
//! an import with no app installed updates no app, setup names every problem at once;
//! and a held wave can be cancelled back to everyone's exact previous roles.

use accessboard::domain::{Email, GroupName, Role, Slug};
use accessboard::users::{GroupChange, GroupKey};
use reqwest::StatusCode;
use uuid::Uuid;

use crate::support::app::TestApp;
use crate::support::browser::{Browser, Resp};

/// The message at the top of the page a redirect leads to: (its class, its text).
async fn message(b: &Browser, r: &Resp) -> (String, String) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = b.get(r.header("location")).await.body;
    let start = page
        .find(" flash\" role=\"status\">")
        .unwrap_or_else(|| panic!("no message on the page: {page}"));
    let class_start = page[..start].rfind("class=\"").expect("a class") + 7;
    let class = page[class_start..start].to_owned();
    let rest = &page[start + " flash\" role=\"status\">".len()..];
    (
        class,
        rest[..rest.find("</p>").expect("the end")].to_owned(),
    )
}

fn role(dash: &TestApp, user: Uuid) -> (String, String) {
    let conn = dash.ctx.service.db().conn().unwrap();
    conn.query_row(
        "SELECT direct_role, role FROM app_access WHERE user_id = ?1 AND app_slug = 'files'",
        [user.to_string()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// `n` people with `role` in Files, whose accounts Files holds as they are.
async fn provisioned(dash: &TestApp, from: usize, n: usize, role: Role) -> Vec<Uuid> {
    let mut ids = Vec::new();
    for i in from..from + n {
        let email = format!("p{i:03}@example.org");
        ids.push(
            dash.person(&email, &format!("Person {i}"), false, &[("files", role)])
                .await,
        );
    }
    dash.sql(
        "UPDATE app_access SET status = 'provisioned', scim_id = 'acct-' || user_id,
            synced_role = role, synced_gen = desired_gen
          WHERE app_slug = 'files' AND role != 'none'",
    );
    ids
}

/// The group `design`, granting `user` in Files, with these members.
async fn design(dash: &TestApp, members: &[Uuid]) {
    let service = &dash.ctx.service;
    service
        .create_group(GroupName::parse("design").unwrap(), String::new())
        .await
        .unwrap();
    let key = || GroupKey::Name(GroupName::parse("design").unwrap());
    let mut emails = Vec::new();
    for id in members {
        let e: String = dash
            .ctx
            .service
            .db()
            .conn()
            .unwrap()
            .query_row(
                "SELECT email FROM users WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        emails.push(Email::parse(&e).unwrap());
    }
    service
        .change_group(key(), GroupChange::Add(emails))
        .await
        .unwrap();
    service
        .change_group(
            key(),
            GroupChange::Grant(Slug::parse("files").unwrap(), Role::User),
        )
        .await
        .unwrap();
}

/// 12 people have Files only through the group design, 18 more of their own: taking
/// design's access away revokes 12 of 30, which trips the guard. Returns the 12 and
/// design's id.
async fn only_design_gives_files_to_twelve(dash: &TestApp) -> (Vec<Uuid>, String) {
    let members = provisioned(dash, 0, 12, Role::None).await;
    design(dash, &members).await;
    provisioned(dash, 12, 18, Role::User).await;
    let id: String = dash
        .ctx
        .service
        .db()
        .conn()
        .unwrap()
        .query_row("SELECT id FROM access_groups", [], |r| r.get(0))
        .unwrap();
    (members, id)
}

fn revoke_form(ids: &[Uuid]) -> Vec<(String, String)> {
    let mut form = vec![
        ("action".to_owned(), "role".to_owned()),
        ("app".to_owned(), "files".to_owned()),
        ("role".to_owned(), "none".to_owned()),
    ];
    form.extend(ids.iter().map(|id| ("id".to_owned(), id.to_string())));
    form
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[actix_web::test]
async fn a_bulk_revocation_names_who_keeps_access_through_a_group_and_the_guard_hold_as_a_warning()
{
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users").await;
    // 30 people in Files: 20 are revoked, 6 of those are in the group design.
    let people = provisioned(&dash, 0, 30, Role::User).await;
    design(&dash, &people[14..20]).await;
    let form = revoke_form(&people[..20]);

    // The review warns, with the numbers, that the guard would hold them.
    let review = b.post("/users/bulk", &pairs(&form)).await;
    assert!(
        review.body.contains(
            "14 of these 14 revocations in Files would be held by the revocation guard (limit: more than 20% of its accounts within 5 min, from 10 people on); tick &quot;This revocation is planned&quot; to carry them out."
        ),
        "{}",
        review.body
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_access WHERE status = 'held'"),
        0,
        "the review changes nothing"
    );

    let done = b.post("/users/bulk/apply", &pairs(&form)).await;
    let (class, text) = message(&b, &done).await;
    assert!(
        text.starts_with(
            "14 people lost access to Files; 6 keep it through the group design. The revocation guard holds 14 revocations of this change in Files"
        ),
        "{text}"
    );
    assert!(
        text.contains("<a href=\"/users?app=files&amp;status=held\">Who is held</a>"),
        "{text}"
    );
    assert_eq!(class, "note", "a held change is a warning, not a success");
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_access WHERE status = 'held'"),
        14
    );

    // Giving 4 of them access back: the message counts those 4, not the app's held wave.
    let mut back = revoke_form(&people[..4]);
    back[2].1 = "user".into();
    let done = b.post("/users/bulk/apply", &pairs(&back)).await;
    let (class, text) = message(&b, &done).await;
    assert_eq!(text, "4 people got access to Files as user.");
    assert_eq!(class, "saved");
    assert!(!text.contains("holds"), "{text}");
}

#[actix_web::test]
async fn a_held_wave_is_cancelled_back_to_each_person_exact_previous_roles() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users").await;
    // A wave of 12 in Files: 3 who had it only through the group design are taken out
    // of it, then 5 users and 4 admins lose their own role; 18 more keep theirs.
    let grouped = provisioned(&dash, 0, 3, Role::None).await;
    design(&dash, &grouped).await;
    let users = provisioned(&dash, 3, 5, Role::User).await;
    let admins = provisioned(&dash, 8, 4, Role::Admin).await;
    provisioned(&dash, 12, 18, Role::User).await;
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM app_access WHERE app_slug = 'files' AND role != 'none'
               AND status != 'provisioned'"
        ),
        0
    );
    let service = &dash.ctx.service;
    let emails: Vec<Email> = (0..3)
        .map(|i| Email::parse(&format!("p{i:03}@example.org")).unwrap())
        .collect();
    service
        .change_group(
            GroupKey::Name(GroupName::parse("design").unwrap()),
            GroupChange::Remove(emails),
        )
        .await
        .unwrap();
    let wave: Vec<Uuid> = users.iter().chain(&admins).copied().collect();
    let done = b
        .post("/users/bulk/apply", &pairs(&revoke_form(&wave)))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_access WHERE status = 'held'"),
        12
    );

    // Resume offers both, and cancelling asks nothing of Files.
    let confirm = b.get("/apps/files/resume").await.body;
    assert!(
        confirm.contains("Carry them out and resume Files")
            && confirm.contains("action=\"/apps/files/cancel-held\"")
            && confirm.contains("Cancel them: give back their previous access"),
        "{confirm}"
    );
    let r = b.post("/apps/files/cancel-held", &[]).await;
    let (class, text) = message(&b, &r).await;
    assert_eq!(
        text,
        "12 held revocations in Files cancelled: each person has the role they had before. \
         12 of their accounts are as Files holds them: nothing is sent there for them. \
         Files is no longer paused for revocations."
    );
    assert_eq!(class, "saved");
    for id in &grouped {
        assert_eq!(role(&dash, *id), ("none".into(), "user".into()));
        let page = b.get(&format!("/users/{id}")).await.body;
        assert!(
            page.contains("<a href=\"/groups/") && page.contains("design</"),
            "back in their group: {page}"
        );
    }
    for id in &users {
        assert_eq!(role(&dash, *id), ("user".into(), "user".into()));
    }
    for id in &admins {
        assert_eq!(role(&dash, *id), ("admin".into(), "admin".into()));
    }
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM group_members"),
        3,
        "the memberships the wave removed are back"
    );
    // Every pair is provisioned as the app last confirmed it: no job, no request.
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM app_access a JOIN users u ON u.id = a.user_id
              WHERE a.app_slug = 'files' AND u.email LIKE 'p%' AND a.status != 'provisioned'"
        ),
        0
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_rails WHERE paused IS NOT NULL"),
        0
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'held.cancel'"),
        12,
        "one audit entry per person"
    );
    assert!(!b.get("/").await.body.contains("is paused"));
}

#[actix_web::test]
async fn deleting_someone_no_app_knows_says_nothing_is_sent() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users").await;
    // Their access was revoked long ago: Files holds a disabled account, nothing to do.
    let id = dash.person("ana@example.org", "Ana Lima", false, &[]).await;
    dash.sql(
        "UPDATE app_access SET status = 'deprovisioned', scim_id = 'gone-1' WHERE app_slug = 'files'",
    );
    let r = b.post(&format!("/users/{id}/delete"), &[]).await;
    let (_, text) = message(&b, &r).await;
    assert_eq!(
        text,
        "Ana Lima was deleted. Nothing is sent to apps: none holds an account of theirs."
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_access WHERE status = 'sync_needed'"),
        0
    );
}

#[actix_web::test]
async fn an_import_with_no_app_installed_updates_no_app() {
    let dir = tempfile::tempdir().unwrap();
    let dash = TestApp::spawn_in(dir, false).await;
    let b = dash.signed_in().await;
    b.get("/users").await;
    b.get("/users/import").await;
    let csv = "email,name,files\nann@example.org,Ann,user\n";
    let r = b.post("/users/import", &[("csv", csv)]).await;
    assert!(
        r.body
            .contains("Created 1 person. Nothing is sent to apps: none of them has access to an installed app."),
        "{}",
        r.body
    );
    assert!(!r.body.contains("being updated"), "{}", r.body);
}

#[actix_web::test]
async fn setup_names_every_problem_of_the_password_at_once() {
    let dash = TestApp::spawn().await;
    let url = accessboard::web::ensure_setup_link(&dash.ctx.service)
        .await
        .unwrap()
        .expect("no admin yet");
    let path = &url["http://dash.example.org".len()..];
    let b = dash.browser();
    assert_eq!(b.get(path).await.status, StatusCode::OK);
    let token = &path["/setup?token=".len()..];
    let r = b
        .post(
            "/setup",
            &[
                ("token", token),
                ("email", "first@example.org"),
                ("name", "First"),
                ("password", "short"),
                ("password2", "shorter"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("characters; the two passwords differ"),
        "{}",
        r.body
    );
}

#[actix_web::test]
async fn a_group_confirmation_warns_when_the_guard_would_hold_its_revocations() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/groups").await;
    let (_, id) = only_design_gives_files_to_twelve(&dash).await;
    let confirm = b.get(&format!("/groups/{id}/delete")).await.body;
    assert!(
        confirm.contains(
            "12 of these 12 revocations in Files would be held by the revocation guard (limit: more than 20% of its accounts within 5 min, from 10 people on)"
        ),
        "{confirm}"
    );
    let grant = b
        .post(&format!("/groups/{id}/grant/files"), &[("role", "none")])
        .await
        .body;
    assert!(
        grant.contains("12 of these 12 revocations in Files would be held"),
        "{grant}"
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_access WHERE status = 'held'"),
        0,
        "asking changes nothing"
    );
}

#[actix_web::test]
async fn cancelling_says_who_stays_held_when_their_previous_access_is_gone() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/users").await;
    let people = provisioned(&dash, 0, 30, Role::User).await;
    // p000 is deleted (1 revocation: the guard lets it be), then 11 lose their role.
    dash.ctx.service.delete_user_by_id(people[0]).await.unwrap();
    let done = b
        .post("/users/bulk/apply", &pairs(&revoke_form(&people[1..12])))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_access WHERE status = 'held'"),
        12
    );
    let r = b.post("/apps/files/cancel-held", &[]).await;
    let (class, text) = message(&b, &r).await;
    assert_eq!(
        text,
        "11 held revocations in Files cancelled: each person has the role they had before. \
         11 of their accounts are as Files holds them: nothing is sent there for them. \
         1 person stays held: deleted, or with no previous access on record; carry it out, or give access back by hand. \
         <a href=\"/users?app=files&amp;status=held\">Who is held</a>"
    );
    assert_eq!(class, "note");
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM app_rails WHERE paused = 'revocations'"),
        1,
        "the app stays paused while someone is held"
    );
}

#[actix_web::test]
async fn removing_people_from_a_group_in_bulk_warns_of_the_guard_and_shows_its_hold_as_a_warning() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    b.get("/groups").await;
    let (members, group) = only_design_gives_files_to_twelve(&dash).await;
    let mut form = vec![
        ("action".to_owned(), "group-remove".to_owned()),
        ("group".to_owned(), group),
    ];
    form.extend(members.iter().map(|id| ("id".to_owned(), id.to_string())));

    let review = b.post("/users/bulk", &pairs(&form)).await.body;
    assert!(
        review
            .contains("12 of these 12 revocations in Files would be held by the revocation guard"),
        "{review}"
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM group_members"),
        12,
        "the review changes nothing"
    );

    let r = b.post("/users/bulk/apply", &pairs(&form)).await;
    let (class, text) = message(&b, &r).await;
    assert_eq!(
        class, "note",
        "a held change is a warning, not a success: {text}"
    );
    assert!(
        text.contains("The revocation guard holds 12 revocations of this change in Files"),
        "{text}"
    );
    assert!(text.contains("Who is held"), "{text}");
    assert_eq!(dash.sql_i64("SELECT count(*) FROM group_members"), 0);
}
