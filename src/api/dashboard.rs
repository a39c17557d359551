//! The browser dashboard: `GET /` and its assets under `/assets/`, embedded in the binary
//! from `web/` at build time, so the page works offline and can never drift from the
//! daemon that serves it.
//!
//! The page is plain HTML, CSS and JavaScript modules (no build step, nothing fetched from
//! elsewhere): it reads the same API routes as any client and the live event stream, and
//! asks for the control token only when a button needs it, keeping it in the page's memory.
//! Every answer carries a Content-Security-Policy that allows this origin alone, so a
//! dashboard that tried to load anything from elsewhere would fail visibly in the browser
//! (the browser test, `tests/browser/`, fails on any console error).

use actix_web::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, X_CONTENT_TYPE_OPTIONS};
use actix_web::{HttpResponse, web};

use super::errors::ApiError;

/// This origin only; inline scripts and styles refused too.
const POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
    img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'; form-action 'none'";

/// One embedded file: its name under `/assets/`, content type and bytes.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

/// The page.
const INDEX: &str = include_str!("../../web/index.html");

/// An embedded file of `web/`.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_str!(concat!("../../web/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every asset the page loads.
const ASSETS: &[Asset] = &[
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("format.js", JS),
    asset!("chart.js", JS),
    asset!("panels.js", JS),
    asset!("icon.svg", "image/svg+xml"),
];

/// `GET /`: the page.
pub(super) async fn index() -> HttpResponse {
    page("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{name}`.
///
/// # Errors
/// [`ApiError::NotFound`] for a name that is not an embedded asset.
pub(super) async fn asset(name: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let name = name.into_inner();
    ASSETS
        .iter()
        .find(|a| a.name == name)
        .map(|a| page(a.content_type, a.body))
        .ok_or_else(|| ApiError::NotFound(format!("no asset {name:?}")))
}

/// `GET /favicon.ico`: browsers ask for it whatever the page says; the page's icon.
pub(super) async fn favicon() -> HttpResponse {
    page("image/svg+xml", include_str!("../../web/icon.svg"))
}

fn page(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((CONTENT_SECURITY_POLICY, POLICY))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // The assets change with the binary: always revalidate.
        .insert_header((CACHE_CONTROL, "no-cache"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every module the page imports is served: a missing one would break the page only in
    /// a browser.
    #[test]
    fn every_imported_module_is_an_asset() {
        let mut sources: Vec<&str> = ASSETS.iter().map(|a| a.body).collect();
        sources.push(INDEX);
        for source in sources {
            for quoted in source.split(['"', '\'']) {
                let Some(name) = quoted
                    .strip_prefix("./")
                    .or_else(|| quoted.strip_prefix("/assets/"))
                else {
                    continue;
                };
                if name.ends_with(".js") || name.ends_with(".css") || name.ends_with(".svg") {
                    assert!(
                        ASSETS.iter().any(|a| a.name == name),
                        "{name} is referenced but not embedded"
                    );
                }
            }
        }
    }

    /// The page names no other origin (the SVG namespace is a name, never fetched). The
    /// browser test checks what is actually requested.
    #[test]
    fn nothing_is_loaded_from_elsewhere() {
        for source in ASSETS.iter().map(|a| a.body).chain([INDEX]) {
            let source = source.replace("http://www.w3.org/2000/svg", "");
            for scheme in ["http://", "https://", "//cdn"] {
                assert!(
                    !source.contains(scheme),
                    "an external address ({scheme}) in an asset"
                );
            }
        }
    }
}
