//! The development issuer's two HTML pages (`pages/*.html`), filled in with escaped values.

use axum::response::Html;
use axum_session_mfa::AuthContext;

/// The sign-in page: who is signed in, and buttons to sign in with or without MFA.
pub fn home(ctx: Option<&AuthContext>, return_to: &str) -> Html<String> {
    let status = match ctx {
        None => "You are signed out.".to_owned(),
        Some(ctx) => format!(
            "Signed in as <b>{}</b> (session {}), amr = <code>{}</code>: {}",
            escape(ctx.sub()),
            escape(ctx.sid().unwrap_or("-")),
            escape(&ctx.amr().map(|a| format!("{a:?}")).unwrap_or_else(|| "absent".into())),
            if ctx.has_amr("mfa") { "this session passed MFA" } else { "no MFA in this session" }
        ),
    };
    let page = include_str!("pages/home.html");
    Html(render(page, &[("status", &status), ("return_to", &escape(return_to))]))
}

/// The step-up page: "enter your one-time code".
pub fn step_up(ctx: &AuthContext, return_to: &str) -> Html<String> {
    let page = include_str!("pages/step_up.html");
    let values = [
        ("sub", &escape(ctx.sub())),
        ("sid", &escape(ctx.sid().unwrap_or("-"))),
        ("return_to", &escape(return_to)),
    ];
    Html(render(page, &values))
}

/// Replaces each `{{name}}` in one pass (a value is never scanned for placeholders).
fn render(template: &str, values: &[(&str, &String)]) -> String {
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
fn escape(text: &str) -> String {
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
