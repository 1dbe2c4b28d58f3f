//! A console session as a browser holds it: the session cookie, the CSRF token read from the
//! last page, no automatic redirects (so each 303 can be checked).

use reqwest::header::{COOKIE, SET_COOKIE};

use super::server::Resp;

/// A signed-in (or not yet signed-in) console visitor.
pub struct Console {
    pub base: String,
    http: reqwest::Client,
    /// `fp_session=…`, once signed in.
    pub cookie: Option<String>,
    /// The CSRF token of the last page that carried one.
    pub csrf: Option<String>,
}

impl Console {
    /// A visitor of the server at `base`.
    pub fn new(base: &str) -> Console {
        fieldproof_core::sms::install_tls_provider();
        Console {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
            csrf: None,
        }
    }

    /// Signs in through the form; panics unless it redirects with a session cookie.
    pub async fn signed_in(base: &str, username: &str, password: &str) -> Console {
        let mut c = Console::new(base);
        let r = c
            .post_form(
                "/login",
                &[("username", username), ("password", password), ("next", "/tasks")],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.text());
        let set = r.header("set-cookie").expect("a session cookie").to_owned();
        c.cookie = Some(set.split(';').next().unwrap().to_owned());
        c.get("/tasks").await;
        c
    }

    fn with_cookie(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(cookie) => req.header(COOKIE, cookie),
            None => req,
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Resp {
        let r = self.with_cookie(req).send().await.expect("request");
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().await.expect("body");
        let resp = Resp {
            status,
            headers,
            body,
        };
        if let Some(token) = csrf_of(&resp.text()) {
            self.csrf = Some(token);
        }
        if resp
            .headers
            .get_all(SET_COOKIE)
            .iter()
            .any(|v| v.to_str().unwrap_or("").starts_with("fp_session=;"))
        {
            self.cookie = None;
        }
        resp
    }

    /// GET a page.
    pub async fn get(&mut self, path: &str) -> Resp {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    /// GET with extra headers.
    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// POST a form as it is (the caller adds `csrf` or not).
    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let req = self.http.post(format!("{}{path}", self.base)).form(fields);
        self.send(req).await
    }

    /// POST a form with this session's CSRF token.
    pub async fn submit(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let csrf = self.csrf.clone().expect("a page with a CSRF token was loaded");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let req = self.http.post(format!("{}{path}", self.base)).form(&all);
        self.send(req).await
    }

    /// POST a form with extra headers (e.g. a foreign `Origin`).
    pub async fn submit_with(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let csrf = self.csrf.clone().expect("a page with a CSRF token was loaded");
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let mut req = self.http.post(format!("{}{path}", self.base)).form(&all);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }
}

/// The value of the first `name="csrf"` field in `html`.
fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_owned())
}
