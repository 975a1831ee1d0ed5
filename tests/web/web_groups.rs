//! /groups and /groups/{id}: creating, renaming, members found by search, a role per
//! app, the confirmations that say how many people lose access, the refusals (one line,
//! nothing stored), and the person page saying where each role comes from.

use accessboard::domain::Role;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::support::app::TestApp;
use crate::support::browser::{Browser, Resp};

/// Creates a group through the page; its id, from the address it lands on.
async fn create(b: &Browser, name: &str) -> Uuid {
    b.get("/groups").await;
    let r = b
        .post("/groups", &[("name", name), ("description", "")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.header("location");
    to.strip_prefix("/groups/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("to the group's page, not {to}"))
}

/// Follows a redirect; the page it leads to.
async fn follow(b: &Browser, r: &Resp) -> Resp {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    b.get(r.header("location")).await
}

fn flash(page: &Resp) -> &str {
    let start = page
        .body
        .find("<p class=\"saved flash\" role=\"status\">")
        .unwrap_or_else(|| panic!("no message on the page: {}", page.body));
    let rest = &page.body[start..];
    let text = &rest[rest.find('>').unwrap() + 1..];
    &text[..text.find("</p>").unwrap()]
}

fn role_of(dash: &TestApp, user: Uuid, app: &str) -> String {
    let n = dash.sql_i64(&format!(
        "SELECT CASE role WHEN 'admin' THEN 2 WHEN 'user' THEN 1 ELSE 0 END FROM app_access
          WHERE user_id = '{user}' AND app_slug = '{app}'"
    ));
    ["none", "user", "admin"][n as usize].to_owned()
}

#[actix_web::test]
async fn groups_are_listed_and_created_and_bad_names_are_refused_in_one_line() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let page = b.get("/groups").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("No groups yet"), "{}", page.body);
    assert!(
        page.body
            .contains("<a href=\"/groups\" aria-current=\"page\">Groups</a>"),
        "the navigation leads here"
    );

    let r = b
        .post(
            "/groups",
            &[("name", "  Design "), ("description", "The design team")],
        )
        .await;
    let page = follow(&b, &r).await;
    assert_eq!(
        flash(&page),
        "The group Design was created; add people and give it a role in apps."
    );
    assert!(page.body.contains("<h1><bdi>Design</bdi></h1>"));
    let list = b.get("/groups").await;
    assert!(list.body.contains("The design team"), "{}", list.body);
    assert!(
        list.body
            .contains("<td class=\"num\" data-label=\"Members\">0</td>")
    );

    let long = "é".repeat(101);
    for (name, why) in [
        (
            "DESIGN",
            "A group named &quot;DESIGN&quot; already exists (names are compared ignoring case); nothing was changed.",
        ),
        (
            "a\u{7}b",
            "Group name contains a control character; nothing was changed.",
        ),
        (
            long.as_str(),
            "Group name is longer than 100 characters; nothing was changed.",
        ),
        ("   ", "Group name is empty; nothing was changed."),
    ] {
        let r = b
            .post("/groups", &[("name", name), ("description", "")])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(
            r.body.contains(&format!(
                "<p class=\"field-error\" id=\"group-name-error\" role=\"alert\">{why}</p>"
            )),
            "{name:?}: {}",
            r.body
        );
        assert!(
            r.body.contains("aria-invalid=\"true\""),
            "the field is marked"
        );
    }
    let r = b
        .post(
            "/groups",
            &[("name", "Board"), ("description", "two\nlines")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("value=\"Board\""),
        "what was typed is kept: {}",
        r.body
    );
    assert!(
        r.body
            .contains("The description contains a control character")
    );
    assert_eq!(dash.sql_i64("SELECT count(*) FROM access_groups"), 1);
}

#[actix_web::test]
async fn members_found_by_search_get_the_groups_role_and_the_person_page_says_why() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ana = dash
        .person(
            "ana@example.org",
            "Ana Lima",
            false,
            &[("files", Role::User)],
        )
        .await;
    let bob = dash
        .person("bob@example.org", "Bob Stone", false, &[])
        .await;
    let id = create(&b, "Design").await;
    let at = format!("/groups/{id}");

    // Search offers Bob with an Add button; adding keeps the search for the next one.
    let found = b.get(&format!("{at}?q=bob")).await;
    assert!(
        found
            .body
            .contains("aria-label=\"Add Bob Stone to Design\""),
        "{}",
        found.body
    );
    assert!(!found.body.contains("Add Ana Lima"));
    let nobody = b.get(&format!("{at}?q=zed")).await;
    assert!(
        nobody.body.contains("Nobody matches “zed”"),
        "{}",
        nobody.body
    );
    let r = b
        .post(
            &format!("{at}/members"),
            &[("email", "bob@example.org"), ("q", "bob")],
        )
        .await;
    assert_eq!(r.header("location"), format!("{at}?q=bob#members"));
    let page = follow(&b, &r).await;
    assert_eq!(
        flash(&page),
        "bob@example.org was added to Design; 0 people gain access."
    );
    assert!(
        page.body
            .contains("<span class=\"muted\">in the group</span>")
    );
    assert!(page.body.contains("Members (1)"));

    // A role in Files: Bob gains access; his pair is marked.
    let r = b
        .post(&format!("{at}/grant/files"), &[("role", "user")])
        .await;
    let page = follow(&b, &r).await;
    assert_eq!(
        flash(&page),
        "Design now gives the role user in Files; 1 person gains access."
    );
    assert!(
        page.body
            .contains("<option value=\"user\" selected>user</option>")
    );
    assert_eq!(role_of(&dash, bob, "files"), "user");
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM app_access WHERE user_id = '{bob}' AND app_slug = 'files' AND status = 'sync_needed'"
        )),
        1
    );

    // Bob's page: his group, and that Files comes through it; the form keeps his own role.
    let person = b.get(&format!("/users/{bob}")).await;
    let link = format!("<a href=\"/groups/{id}\"><bdi>Design</bdi></a>");
    assert!(
        person.body.contains(&format!("Groups: {link}")),
        "{}",
        person.body
    );
    assert!(
        person
            .body
            .contains(&format!("<span class=\"via\">through {link}</span>"))
    );
    assert!(person.body.contains("their groups give user"));
    assert!(
        person
            .body
            .contains("<option value=\"none\" selected>user (from group Design)</option>"),
        "the select shows the role his group gives, on the option of his own role (none): {}",
        person.body
    );
    // Saving his form untouched leaves his own role none: no role of his own is written.
    let r = b
        .post(
            &format!("/users/{bob}"),
            &[
                ("name", "Bob Stone"),
                ("email", "bob@example.org"),
                ("role.files", "none"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        dash.sql_i64(&format!(
            "SELECT count(*) FROM app_access WHERE user_id = '{bob}' AND app_slug = 'files'
               AND direct_role = 'none' AND role = 'user'"
        )),
        1
    );
    // Ana, added as well, has the same role of her own: it is hers.
    b.post(&format!("{at}/members"), &[("email", "ANA@example.org")])
        .await;
    let person = b.get(&format!("/users/{ana}")).await;
    assert!(
        person
            .body
            .contains("<span class=\"via\">their own role</span>")
    );

    // Refusals: one line beside the form, nothing stored.
    let before = dash.sql_i64("SELECT count(*) FROM group_members");
    for (email, why) in [
        (
            "nobody@example.org",
            "No user with email nobody@example.org; nothing was changed.",
        ),
        (
            "no-at-sign",
            "Email &quot;no-at-sign&quot; needs exactly one @ with text on both sides; nothing was changed.",
        ),
    ] {
        let r = b.post(&format!("{at}/members"), &[("email", email)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
        assert!(r.body.contains(why), "{email}: {}", r.body);
        assert!(r.body.contains("<p class=\"alert\" role=\"alert\">"));
    }
    let r = b
        .post(&format!("{at}/grant/nope"), &[("role", "user")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("No app &quot;nope&quot; in the catalogue"),
        "{}",
        r.body
    );
    let r = b
        .post(&format!("{at}/grant/Not%20a%20slug"), &[("role", "user")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("No app &quot;Not a slug&quot; in the catalogue"),
        "{}",
        r.body
    );
    let r = b
        .post(&format!("{at}/grant/files"), &[("role", "owner")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("id=\"grant-files-error\" role=\"alert\">Role &quot;owner&quot; is not one of admin, user, none; nothing was changed."),
        "{}",
        r.body
    );
    assert_eq!(dash.sql_i64("SELECT count(*) FROM group_members"), before);
    assert_eq!(role_of(&dash, bob, "files"), "user");

    // Rename, and a name another group has in another case.
    create(&b, "Board").await;
    let r = b.post(&format!("{at}/rename"), &[("name", "board")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("value=\"board\""), "kept as typed");
    assert!(r.body.contains(
        "id=\"rename-error\" role=\"alert\">A group named &quot;board&quot; already exists"
    ));
    let page = follow(
        &b,
        &b.post(&format!("{at}/rename"), &[("name", "Designers")])
            .await,
    )
    .await;
    assert_eq!(flash(&page), "Renamed to Designers.");

    // Removing Bob takes his only way into Files: asked first, counting who loses it.
    let ask = b
        .post(
            &format!("{at}/members/remove"),
            &[("email", "bob@example.org")],
        )
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(
        ask.body
            .contains("1 person loses access: nothing else gives it to them."),
        "{}",
        ask.body
    );
    assert_eq!(role_of(&dash, bob, "files"), "user", "nothing changed yet");
    let r = b
        .post(
            &format!("{at}/members/remove"),
            &[("email", "bob@example.org"), ("confirmed", "yes")],
        )
        .await;
    let page = follow(&b, &r).await;
    assert_eq!(
        flash(&page),
        "bob@example.org was removed from Designers; 1 person loses access."
    );
    assert_eq!(role_of(&dash, bob, "files"), "none");
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM audit_log WHERE action LIKE 'group.%' AND actor = 'admin@example.org'"
        ),
        7,
        "create ×2, add ×2, grant, rename, remove: each by the admin"
    );
}

#[actix_web::test]
async fn taking_access_away_asks_first_saying_how_many_people_lose_it() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let ana = dash
        .person(
            "ana@example.org",
            "Ana Lima",
            false,
            &[("files", Role::User)],
        )
        .await;
    let bob = dash
        .person("bob@example.org", "Bob Stone", false, &[])
        .await;
    let cy = dash.person("cy@example.org", "Cy Chen", false, &[]).await;
    let id = create(&b, "Design").await;
    let at = format!("/groups/{id}");
    for email in ["ana@example.org", "bob@example.org", "cy@example.org"] {
        b.post(&format!("{at}/members"), &[("email", email)]).await;
    }
    b.post(&format!("{at}/grant/files"), &[("role", "admin")])
        .await;
    assert_eq!(role_of(&dash, ana, "files"), "admin");

    // admin → user takes nobody's access: no question.
    let r = b
        .post(&format!("{at}/grant/files"), &[("role", "user")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // user → none: Bob and Cy would lose Files (Ana has it of her own): asked first.
    let ask = b
        .post(&format!("{at}/grant/files"), &[("role", "none")])
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(
        ask.body.contains("2 people lose access to Files"),
        "{}",
        ask.body
    );
    assert!(ask.body.contains("name=\"confirmed\" value=\"yes\""));
    assert_eq!(role_of(&dash, bob, "files"), "user", "nothing changed yet");
    let r = b
        .post(
            &format!("{at}/grant/files"),
            &[("role", "none"), ("confirmed", "yes")],
        )
        .await;
    let page = follow(&b, &r).await;
    assert_eq!(
        flash(&page),
        "Design no longer gives access to Files; 2 people lose access."
    );
    assert_eq!(role_of(&dash, bob, "files"), "none");
    assert_eq!(role_of(&dash, ana, "files"), "user");

    // Deleting: the confirmation counts who loses access; nothing happens until it is posted.
    b.post(&format!("{at}/grant/files"), &[("role", "user")])
        .await;
    let ask = b.get(&format!("{at}/delete")).await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(
        ask.body
            .contains("It has 3 people and gives: user in Files."),
        "{}",
        ask.body
    );
    assert!(
        ask.body
            .contains("2 people lose access to at least one app"),
        "{}",
        ask.body
    );
    assert_eq!(dash.sql_i64("SELECT count(*) FROM access_groups"), 1);
    assert_eq!(role_of(&dash, cy, "files"), "user");
    let r = b.post(&format!("{at}/delete"), &[]).await;
    assert_eq!(r.header("location"), "/groups");
    let page = follow(&b, &r).await;
    assert_eq!(
        flash(&page),
        "The group Design was deleted; 2 people lose access."
    );
    assert_eq!(dash.sql_i64("SELECT count(*) FROM access_groups"), 0);
    assert_eq!(role_of(&dash, cy, "files"), "none");
    assert_eq!(role_of(&dash, ana, "files"), "user");
    // Deleted meanwhile, elsewhere: said so; a group that is gone is a 404.
    let page = follow(&b, &b.post(&format!("{at}/delete"), &[]).await).await;
    assert_eq!(flash(&page), "This group was already deleted.");
    assert_eq!(b.get(&at).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        b.get(&format!("{at}/delete")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        b.post(&format!("{at}/rename"), &[("name", "x")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn adds_and_removes_with_htmx_answer_with_the_member_list_without_a_page_load() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let people = ["ana", "bob", "cy", "dee", "eve", "fay"];
    let mut ids = Vec::new();
    for p in people {
        ids.push(
            dash.person(&format!("{p}@example.org"), &p.to_uppercase(), false, &[])
                .await,
        );
    }
    let id = create(&b, "Design").await;
    let at = format!("/groups/{id}");
    b.post(&format!("{at}/grant/files"), &[("role", "user")])
        .await;
    let page = b.get(&format!("{at}?q=example")).await.body;
    assert!(
        page.contains(&format!(
            "hx-post=\"{at}/members\" hx-target=\"#members\" hx-swap=\"outerHTML\""
        )),
        "the Add buttons post with htmx and replace the member list: {page}"
    );
    // Six adds, each answered by the members' part alone, saying what it did.
    for (n, p) in people.iter().enumerate() {
        let email = format!("{p}@example.org");
        let r = b
            .post_hx(
                &format!("{at}/members"),
                &[("email", &email), ("q", "example")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.starts_with("<section id=\"members\""), "{}", r.body);
        assert!(!r.body.contains("<html"), "a fragment, not a page");
        assert!(
            r.body.contains(&format!(
                "{email} was added to Design; 1 person gains access."
            )),
            "{}",
            r.body
        );
        assert!(
            r.body.contains(&format!("Members ({})", n + 1)),
            "{}",
            r.body
        );
        assert!(
            r.body.contains("value=\"example\""),
            "the search stays for the next one"
        );
    }
    assert_eq!(role_of(&dash, ids[5], "files"), "user");
    // A removal that takes access away asks in place, counting who loses it.
    let ask = b
        .post_hx(
            &format!("{at}/members/remove"),
            &[("email", "fay@example.org")],
        )
        .await;
    assert_eq!(ask.status, StatusCode::OK);
    assert!(
        ask.body.starts_with("<section id=\"members\""),
        "{}",
        ask.body
    );
    assert!(
        ask.body.contains(
            "Remove <bdi>fay@example.org</bdi> from <bdi>Design</bdi>? 1 person loses access"
        ),
        "{}",
        ask.body
    );
    assert_eq!(
        role_of(&dash, ids[5], "files"),
        "user",
        "nothing changed yet"
    );
    let r = b
        .post_hx(
            &format!("{at}/members/remove"),
            &[("email", "fay@example.org"), ("confirmed", "yes")],
        )
        .await;
    assert!(
        r.body
            .contains("fay@example.org was removed from Design; 1 person loses access."),
        "{}",
        r.body
    );
    assert!(r.body.contains("Members (5)"), "{}", r.body);
    assert_eq!(role_of(&dash, ids[5], "files"), "none");
    // A removal that takes nothing away (her own role stays) is done at once.
    dash.sql(&format!(
        "UPDATE app_access SET direct_role = 'user' WHERE user_id = '{}'",
        ids[4]
    ));
    let r = b
        .post_hx(
            &format!("{at}/members/remove"),
            &[("email", "eve@example.org")],
        )
        .await;
    assert!(
        r.body
            .contains("eve@example.org was removed from Design; 0 people lose access."),
        "{}",
        r.body
    );
    // A refusal comes back in the same place, 422, nothing stored.
    let r = b
        .post_hx(&format!("{at}/members"), &[("email", "nobody@example.org")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.starts_with("<section id=\"members\""), "{}", r.body);
    assert!(
        r.body.contains("No user with email nobody@example.org"),
        "{}",
        r.body
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM group_members"),
        4,
        "six added, two removed"
    );
}

#[actix_web::test]
async fn a_description_is_edited_and_the_list_names_the_apps_each_group_gives() {
    let dash = TestApp::spawn().await;
    let b = dash.signed_in().await;
    let id = create(&b, "Design").await;
    create(&b, "Board").await;
    let at = format!("/groups/{id}");
    b.post(&format!("{at}/grant/files"), &[("role", "admin")])
        .await;
    let page = follow(
        &b,
        &b.post(
            &format!("{at}/describe"),
            &[("description", "  Designers and their tools ")],
        )
        .await,
    )
    .await;
    assert_eq!(flash(&page), "The description of Design was saved.");
    assert!(
        page.body
            .contains("<p class=\"lead\"><bdi>Designers and their tools</bdi></p>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\"Designers and their tools\""));
    // Too long: one line beside the field, kept as typed, nothing stored.
    let long = "x".repeat(501);
    let r = b
        .post(&format!("{at}/describe"), &[("description", &long)])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("id=\"describe-error\" role=\"alert\">The description is longer than 500 characters; nothing was changed."),
        "{}",
        r.body
    );
    assert!(r.body.contains(&format!("value=\"{long}\"")));
    assert_eq!(
        dash.sql_i64(
            "SELECT count(*) FROM access_groups WHERE description = 'Designers and their tools'"
        ),
        1
    );
    assert_eq!(
        dash.sql_i64("SELECT count(*) FROM audit_log WHERE action = 'group.describe'"),
        1
    );
    // The list: which apps each group gives, with the role.
    let list = b.get("/groups").await.body;
    assert!(
        list.contains("<td data-label=\"Apps\">Files <span class=\"muted\">(admin)</span></td>"),
        "{list}"
    );
    assert!(
        list.contains("<td data-label=\"Apps\"><span class=\"muted\">none</span></td>"),
        "Board gives nothing: {list}"
    );
}
