//! The demo's HTML pages (`pages/*.html`, one stylesheet `pages/style.css`), filled in with
//! escaped values. Every value from a request or a token goes through `escape`.

use axum::response::Html;
use axum_session_mfa::{AuthContext, Denial};

const STYLE: &str = include_str!("pages/style.css");

/// How people sign in to this demo: decides the home page's buttons.
#[derive(Debug, Clone)]
#[cfg_attr(not(feature = "lifecycle"), allow(dead_code))]
pub enum SignIn {
    /// The development issuer's forms (`POST /dev/login`, `POST /dev/logout`).
    Dev,
    /// The crate's sign-in routes (`GET /auth/login`, `POST /auth/logout`) with this provider.
    Provider(String),
    /// Nobody here: tokens come from elsewhere, in this cookie or as a Bearer token.
    Elsewhere { cookie: String },
}

/// What the home page says about this demo's setup.
#[derive(Debug, Clone)]
pub struct Site {
    pub sign_in: SignIn,
    /// WorkOS tokens: `/admin/recent` asks for a recent sign-in, not MFA.
    pub workos: bool,
}

/// The home page: the session's state, the buttons that fit it, and the routes to try.
/// `return_to` (already checked with `safe_return_to`) is where a sign-in goes back to; when it
/// is not `/`, the page says that signing in continues there.
pub fn home(site: &Site, ctx: Option<&AuthContext>, return_to: &str) -> Html<String> {
    let back = escape(return_to);
    let notice = match (ctx, return_to) {
        (None, "/") | (Some(_), _) => String::new(),
        (None, _) => format!("<p class=\"notice\">Sign in to continue to <code>{back}</code>.</p>"),
    };
    let status = match (ctx, &site.sign_in) {
        (Some(ctx), _) => session_details(ctx),
        (None, SignIn::Provider(provider)) => format!(
            "<p>You are signed out. Signing in goes through <code>{}</code>.</p>",
            escape(provider)
        ),
        (None, _) => "<p>You are signed out.</p>".to_owned(),
    };
    let actions = match (&site.sign_in, ctx) {
        (SignIn::Dev, None) => format!(
            "<form method=\"post\" action=\"/dev/login\">\
             <input type=\"hidden\" name=\"method\" value=\"pwd\">\
             <input type=\"hidden\" name=\"return_to\" value=\"{back}\">\
             <button>Sign in with a password only</button></form>\
             <form method=\"post\" action=\"/dev/login\">\
             <input type=\"hidden\" name=\"method\" value=\"mfa\">\
             <input type=\"hidden\" name=\"return_to\" value=\"{back}\">\
             <button class=\"primary\">Sign in with password + MFA</button></form>"
        ),
        (SignIn::Dev, Some(ctx)) => {
            let step_up = if ctx.has_amr("mfa") {
                ""
            } else {
                "<a class=\"button\" href=\"/dev/step-up?return_to=%2F\">Verify with MFA (step up)</a>"
            };
            format!(
                "{step_up}<form method=\"post\" action=\"/dev/logout\">\
                 <button>Sign out</button></form>"
            )
        }
        (SignIn::Provider(_), None) => {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .append_pair("return_to", return_to)
                .finish();
            format!(
                "<a class=\"button primary\" href=\"/auth/login?{}\">Sign in</a>",
                escape(&query)
            )
        }
        (SignIn::Provider(_), Some(ctx)) => {
            // WorkOS tokens never carry `amr`: no step-up could add `mfa` to them.
            let step_up = if ctx.has_amr("mfa") || site.workos {
                ""
            } else {
                "<a class=\"button\" href=\"/auth/login?step_up=1&amp;return_to=%2F\">\
                 Verify with MFA (step up)</a>"
            };
            format!(
                "{step_up}<form method=\"post\" action=\"/auth/logout\">\
                 <button>Sign out</button></form>"
            )
        }
        (SignIn::Elsewhere { cookie }, None) => format!(
            "<p>This demo only verifies tokens: send one as the cookie <code>{}</code> or as \
             <code>Authorization: Bearer</code>.</p>",
            escape(cookie)
        ),
        (SignIn::Elsewhere { .. }, Some(_)) => String::new(),
    };
    let (admin, recent) = if site.workos {
        (
            "behind RequireMfa: needs <code>mfa</code> in <code>amr</code>, which WorkOS tokens \
             never carry",
            "a sign-in within the last 5 minutes (RequireRecentAuth; \"sudo mode\")",
        )
    } else {
        (
            "behind RequireMfa: browsers are sent to sign in or to step up, API clients get \
             401 / 403",
            "MFA within the last 5 minutes",
        )
    };
    let more = match site.sign_in {
        SignIn::Provider(_) => {
            "<li><a href=\"/auth/session\">/auth/session</a>: what the browser may know about \
             its session (never a token)</li>\n  "
        }
        _ => "",
    };
    let page = include_str!("pages/home.html");
    Html(render(
        page,
        &[
            ("style", STYLE),
            ("notice", &notice),
            ("status", &status),
            ("actions", &actions),
            ("admin", admin),
            ("recent", recent),
            ("more", more),
        ],
    ))
}

/// Why a session may see `/admin`.
pub const ADMIN_WHY: &str = "This page is behind <code>RequireMfa</code>: your session's \
                             <code>amr</code> lists <code>mfa</code>.";

/// Why a session may see `/admin/recent`.
pub fn recent_why(workos: bool) -> &'static str {
    if workos {
        "This page is behind <code>RequireRecentAuth</code>: you signed in within the last 5 \
         minutes (WorkOS tokens carry no <code>amr</code>, so this is a fresh sign-in, not MFA)."
    } else {
        "This page is behind <code>RequireMfa</code> with <code>max_age</code> 300: you passed \
         MFA within the last 5 minutes."
    }
}

/// The page behind `/admin` or `/admin/recent`, for browsers (API clients get JSON). `title`
/// and `why` are the demo's own text (`why` may hold markup); the session's values are escaped.
pub fn admin(ctx: &AuthContext, title: &str, why: &str) -> Html<String> {
    let page = include_str!("pages/admin.html");
    let values =
        [("style", STYLE), ("title", title), ("why", why), ("session", &session_details(ctx))];
    Html(render(page, &values))
}

/// "Enter your one-time code" (the development issuer's step-up page).
pub fn step_up(ctx: &AuthContext, return_to: &str) -> Html<String> {
    let page = include_str!("pages/step_up.html");
    let values = [
        ("style", STYLE),
        ("sub", &escape(ctx.sub())),
        ("sid", &escape(ctx.sid().unwrap_or("-"))),
        ("return_to", &escape(return_to)),
    ];
    Html(render(page, &values))
}

/// "Confirm it's you": why the session cannot enter `path` yet, and a button to the step-up
/// sign-in (`step_up`, the URL the crate would have redirected to, with `return_to`, `max_age`
/// and `acr_values`) at `provider`.
pub fn step_up_needed(path: &str, denial: &Denial, provider: &str, step_up: &str) -> Html<String> {
    let policy = denial.policy();
    let within = policy.max_age().map(|age| match age.as_secs() {
        secs if secs >= 60 && secs % 60 == 0 => format!(" within the last {} minutes", secs / 60),
        secs => format!(" within the last {secs} seconds"),
    });
    let needs = match (policy.methods().is_empty(), within) {
        (false, None) => "a recent multi-factor sign-in".to_owned(),
        (false, Some(within)) => format!("a multi-factor sign-in{within}"),
        (true, within) => format!("a sign-in{}", within.unwrap_or_default()),
    };
    let page = include_str!("pages/step_up_needed.html");
    let values = [
        ("style", STYLE),
        ("path", &escape(path)),
        ("needs", &needs),
        ("why", &escape(&denial.rule().to_string())),
        ("provider", &escape(provider)),
        ("continue", &escape(step_up)),
    ];
    Html(render(page, &values))
}

/// Why a WorkOS session cannot enter a `RequireMfa` page (`path`).
pub fn no_amr(path: &str) -> Html<String> {
    let page = include_str!("pages/no_amr.html");
    Html(render(page, &[("style", STYLE), ("path", &escape(path))]))
}

/// Who is signed in, how, and how long ago.
fn session_details(ctx: &AuthContext) -> String {
    let user = match ctx.user().and_then(|u| u.email.as_deref()) {
        Some(email) => format!("{} ({})", escape(ctx.sub()), escape(email)),
        None => escape(ctx.sub()),
    };
    let amr = match ctx.amr() {
        Some(amr) => amr.iter().collect::<Vec<_>>().join(", "),
        None => "absent".to_owned(),
    };
    let mfa = if ctx.has_amr("mfa") {
        "<span class=\"ok\">this session passed MFA</span>"
    } else {
        "<span class=\"warn\">no MFA in this session</span>"
    };
    let age = match ctx.auth_age() {
        Some(age) => format!("{} s ago", age.as_secs()),
        None => "unknown (no auth_time)".to_owned(),
    };
    format!(
        "<p>Signed in as <b>{user}</b>: {mfa}.</p>\
         <dl><dt>Session</dt><dd><code>{}</code></dd>\
         <dt>Methods (amr)</dt><dd><code>{}</code></dd>\
         <dt>Signed in</dt><dd>{age}</dd></dl>",
        escape(ctx.sid().unwrap_or("-")),
        escape(&amr),
    )
}

/// Replaces each `{{name}}` in one pass (a value is never scanned for placeholders).
fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find("}}").expect("unclosed placeholder in a page template");
        let name = &after[..end];
        let value = values.iter().find(|(n, _)| *n == name);
        out.push_str(value.unwrap_or_else(|| panic!("no value for {{{{{name}}}}}")).1);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
