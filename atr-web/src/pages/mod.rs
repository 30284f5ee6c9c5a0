//! Typed HTML pages: plain functions returning `Markup`.

use maud::{DOCTYPE, Markup, html};
use salvo::http::header::{CONTENT_TYPE, HeaderValue};
use salvo::{Response, Scribe};

/// A rendered HTML page, written to the response with the right content type.
#[derive(Debug)]
pub(crate) struct Page(pub(crate) Markup);

impl Scribe for Page {
    fn render(self, res: &mut Response) {
        res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        let _ = res.write_body(self.0.into_string());
    }
}

/// The common layout of every page.
pub(crate) fn layout(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ATR" }
            }
            body {
                header { a href="/" { "ATR" } " · Trusted Releases" }
                main { (body) }
            }
        }
    }
}

/// The home page.
pub(crate) fn home(state_dir: &str) -> Markup {
    layout(
        "Home",
        html! {
            h1 { "Trusted Releases" }
            p { "The server is running. The release pages arrive with the web issue." }
            p { "State directory: " code { (state_dir) } }
        },
    )
}
