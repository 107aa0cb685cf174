//! The headers every answer of the portal carries, pages, errors and
//! redirects alike (also an address under `/portal` that is no page):
//! what a browser may load into, frame and keep of it.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;

/// No script at all, nothing loaded from elsewhere, never in a frame (but
/// on the pay page, [`super::topup::pay`], which sets its own).
/// Styles are inline (the layout's `<style>`, a chart's bars and their
/// `style` attributes), so `'unsafe-inline'` for styles only: with every
/// text escaped by maud and no other source allowed, a style can neither
/// run nor send anything anywhere. No `form-action`: browsers apply it to
/// the redirect after a form too, and the top-up form's redirect goes to
/// the payment provider's site.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
                   frame-ancestors 'none'; base-uri 'none'";

/// A year; not `includeSubDomains`: the portal's host says nothing of the
/// municipality's other sites.
const HSTS: &str = "max-age=31536000";

/// Whether `path` is the portal's (or the front page, which sends there).
fn is_portal(path: &str) -> bool {
    path == "/" || path == "/portal" || path.starts_with("/portal/")
}

/// Adds the headers to the portal's answers. `Cache-Control: no-store`
/// on every one: each page behind the login names the person and their
/// children, and the others are small; an answer that set its own keeps it.
pub async fn security(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !is_portal(request.uri().path()) {
        return next.run(request).await;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let fixed = [
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Only the pay page sets its own: Stripe's script and ours, by address.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let https = state.portal.as_ref().is_some_and(|p| {
        p.public_url
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    });
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::is_portal;

    #[test]
    fn the_portal_is_its_addresses_and_the_front_page() {
        for path in ["/", "/portal", "/portal/", "/portal/office/x"] {
            assert!(is_portal(path), "{path}");
        }
        for path in ["/api/v1/children", "/portalen", "/healthz", "/metrics"] {
            assert!(!is_portal(path), "{path}");
        }
    }
}
