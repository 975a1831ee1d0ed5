//! A signed-in dashboard client over real HTTP, carrying the session cookie by hand.

use std::collections::BTreeMap;

/// One admin's browser, without the browser.
pub struct DashboardClient {
    http: reqwest::Client,
    base: String,
    cookies: BTreeMap<String, String>,
    csrf: String,
}

/// What a request answered.
pub struct Answer {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
}

/// The value of the first hidden `csrf` field in a page.
pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

impl DashboardClient {
    /// Signs in at `base` (e.g. `http://127.0.0.1:PORT`) with email and password.
    pub async fn sign_in(base: &str, email: &str, password: &str) -> DashboardClient {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("http client");
        let mut c = DashboardClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            cookies: BTreeMap::new(),
            csrf: String::new(),
        };
        let login = c.get("/login").await;
        assert_eq!(login.status, 200, "{}", login.body);
        c.csrf = csrf_in(&login.body).unwrap_or_default();
        let a = c
            .post("/login", &[("email", email), ("password", password)])
            .await;
        assert_eq!(a.status, 303, "sign-in refused: {}", a.body);
        let page = c.get("/users/new").await;
        assert_eq!(page.status, 200, "not signed in: {}", page.body);
        c.csrf = csrf_in(&page.body).expect("a csrf field on the form");
        c
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, res: reqwest::Response) -> Answer {
        for v in res.headers().get_all(reqwest::header::SET_COOKIE) {
            if let Some((pair, _)) = v
                .to_str()
                .unwrap_or("")
                .split_once(';')
                .or(Some((v.to_str().unwrap_or(""), "")))
                && let Some((k, val)) = pair.split_once('=')
            {
                self.cookies
                    .insert(k.trim().to_owned(), val.trim().to_owned());
            }
        }
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = res.text().await.unwrap_or_default();
        Answer {
            status,
            location,
            body,
        }
    }

    /// GET a path.
    pub async fn get(&mut self, path: &str) -> Answer {
        let res = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .send()
            .await
            .expect("GET");
        self.finish(res).await
    }

    /// POST a form, with the session's CSRF token added.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let mut all: Vec<(&str, &str)> = fields.to_vec();
        let csrf = self.csrf.clone();
        all.push(("csrf", &csrf));
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(all)
            .finish();
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .expect("POST");
        self.finish(res).await
    }
}
