//! A scripted browser for the lifecycle tests: real HTTP over loopback, no redirects followed
//! on its own, a cookie jar per origin, `Accept: text/html` like a navigation.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum_session_mfa::Clock;
use cookie::Cookie;
use http::StatusCode;
use reqwest::Url;

/// A clock the test moves forward: the system time plus an offset.
#[derive(Clone, Default)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    pub fn clock(&self) -> Clock {
        let offset = self.0.clone();
        Clock::from_fn(move || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            now + offset.load(Ordering::SeqCst)
        })
    }

    pub fn set_offset(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }
}

/// Serves `app` on `listener` in the background.
pub fn serve(listener: tokio::net::TcpListener, app: Router) {
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub url: Url,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Page {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.url, self.body))
    }

    /// The problem code of a refusal (JSON body), or the `<code>` of an HTML one.
    pub fn code(&self) -> String {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&self.body) {
            return v["code"].as_str().unwrap_or_default().to_owned();
        }
        self.body
            .split("<code>")
            .nth(1)
            .and_then(|s| s.split("</code>").next())
            .unwrap_or_default()
            .to_owned()
    }

    /// The `Set-Cookie` for `name`, if the response has one.
    pub fn set_cookie(&self, name: &str) -> Option<Cookie<'static>> {
        self.set_cookies
            .iter()
            .filter_map(|s| Cookie::parse(s.clone()).ok())
            .find(|c| c.name() == name)
    }
}

#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
    jar: HashMap<String, HashMap<String, String>>,
    /// Sent as `Accept`; `text/html` makes requests navigations.
    pub accept: &'static str,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

impl Browser {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        Self { client, jar: HashMap::new(), accept: "text/html,application/xhtml+xml" }
    }

    /// An API client (no `text/html`), sharing this browser's cookies.
    pub fn api(&self) -> Self {
        Self { accept: "application/json", ..self.clone() }
    }

    pub fn cookie(&self, url: &str, name: &str) -> Option<String> {
        let url = Url::parse(url).unwrap();
        self.jar.get(&origin(&url)).and_then(|c| c.get(name)).cloned()
    }

    /// The name and value of the first cookie whose name starts with `prefix`.
    pub fn cookie_starting(&self, url: &str, prefix: &str) -> Option<(String, String)> {
        let url = Url::parse(url).unwrap();
        self.jar
            .get(&origin(&url))?
            .iter()
            .find(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
    }

    pub fn set_cookie_value(&mut self, url: &str, name: &str, value: &str) {
        let url = Url::parse(url).unwrap();
        self.jar.entry(origin(&url)).or_default().insert(name.to_owned(), value.to_owned());
    }

    pub fn remove_cookie(&mut self, url: &str, name: &str) {
        let url = Url::parse(url).unwrap();
        if let Some(c) = self.jar.get_mut(&origin(&url)) {
            c.remove(name);
        }
    }

    fn cookie_header(&self, url: &Url) -> Option<String> {
        let cookies = self.jar.get(&origin(url))?;
        (!cookies.is_empty())
            .then(|| cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; "))
    }

    async fn send(&mut self, url: Url, request: reqwest::RequestBuilder) -> Page {
        let mut request = request.header("accept", self.accept);
        if let Some(cookies) = self.cookie_header(&url) {
            request = request.header("cookie", cookies);
        }
        let response = request.send().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        let set_cookies: Vec<String> =
            headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let jar = self.jar.entry(origin(&url)).or_default();
        for raw in &set_cookies {
            let c = Cookie::parse(raw.clone()).unwrap();
            let removed = c.max_age().is_some_and(|m| m.is_zero()) || c.value().is_empty();
            if removed {
                jar.remove(c.name());
            } else {
                jar.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        let location = headers.get("location").map(|v| {
            let l = v.to_str().unwrap();
            url.join(l).map(|u| u.to_string()).unwrap_or_else(|_| l.to_owned())
        });
        let retry_after = headers.get("retry-after").map(|v| v.to_str().unwrap().to_owned());
        Page { status, url, location, set_cookies, retry_after, body }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let url = Url::parse(url).unwrap();
        let request = self.client.get(url.clone());
        self.send(url, request).await
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let url = Url::parse(url).unwrap();
        let request = self.client.post(url.clone()).form(form);
        self.send(url, request).await
    }

    /// Follows redirects (GET) from `url` until a page that is not a redirect.
    pub async fn navigate(&mut self, url: &str) -> Page {
        let mut page = self.get(url).await;
        for _ in 0..20 {
            match (&page.status, &page.location) {
                (s, Some(next)) if s.is_redirection() => {
                    let next = next.clone();
                    page = self.get(&next).await;
                }
                _ => return page,
            }
        }
        panic!("too many redirects from {url}");
    }

    /// Follows redirects from `url`; at the OpenID Provider's sign-in form, signs in (with the
    /// second factor when `mfa`, `ts_offset` seconds in the past or future), and follows on.
    pub async fn sign_in_through(&mut self, url: &str, mfa: bool, ts_offset: i64) -> Page {
        let page = self.navigate(url).await;
        if !page.url.path().starts_with("/interaction/") {
            return page;
        }
        let action = format!("{}/login", page.url.as_str().trim_end_matches('/'));
        let offset = ts_offset.to_string();
        let mut form = vec![("account", "user-1"), ("ts_offset", offset.as_str())];
        if mfa {
            form.push(("mfa", "1"));
        }
        let posted = self.post_form(&action, &form).await;
        assert!(posted.status.is_redirection(), "login form post: {posted:?}");
        let next = posted.location.clone().unwrap();
        self.navigate(&next).await
    }
}
