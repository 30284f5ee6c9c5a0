//! The OpenAPI 3.1 description (`/api/openapi.json`), built from [`super::endpoints::all`] and the
//! schemas of the request and response types, and a page for people (`/api/docs`).

use maud::html;
use salvo::prelude::*;
use serde_json::{Map, Value, json};

use super::endpoints::{Endpoint, all};

/// The error body every endpoint may answer with.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["error", "request_id"],
        "properties": {
            "error": { "type": "string" },
            "request_id": { "type": "string" },
            "exception_type": { "type": "string", "description": "server faults only" },
            "traceback": { "type": "string", "description": "server faults only; one line" },
        },
    })
}

/// The OpenAPI path of a route path (`{**path}` becomes `{path}`), with a leading `/`.
fn openapi_path(route: &str) -> String {
    format!("/{}", route.replace("{**", "{"))
}

fn parameters(route: &str) -> Vec<Value> {
    route
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let name = name.trim_start_matches("**");
            json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
        })
        .collect()
}

fn operation(e: &Endpoint, route: &str) -> Value {
    let mut responses = Map::new();
    let ok = match e.response {
        Some(schema) => {
            json!({ "description": "success", "content": { "application/json": { "schema": schema() } } })
        }
        None => json!({
            "description": "the file's bytes",
            "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } },
        }),
    };
    responses.insert(e.status.to_string(), ok);
    if let Some((status, schema)) = e.also {
        responses.insert(
            status.to_string(),
            json!({ "description": "accepted", "content": { "application/json": { "schema": schema() } } }),
        );
    }
    responses.insert(
        "default".to_owned(),
        json!({ "description": "error", "content": { "application/json": { "schema": error_schema() } } }),
    );
    let mut op = json!({
        "summary": e.summary,
        "operationId": route.replace(['/', '{', '}', '*', '-'], "_").trim_matches('_').to_owned(),
        "parameters": parameters(route),
        "responses": responses,
    });
    if let Some(schema) = e.request {
        op["requestBody"] =
            json!({ "required": true, "content": { "application/json": { "schema": schema() } } });
    }
    if e.auth {
        op["security"] = json!([{ "bearer": [] }]);
    }
    op
}

/// The OpenAPI description of every endpoint.
pub(crate) fn openapi() -> Value {
    let mut paths = Map::new();
    for e in all() {
        for route in e.paths {
            let entry = paths.entry(openapi_path(route)).or_insert_with(|| json!({}));
            entry[e.method.to_ascii_lowercase()] = operation(&e, route);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "ATR API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The API of the release platform, compatible with the `atr` command-line client. \
                POST endpoints and /api/task/get need `Authorization: Bearer <jwt>` from /api/jwt/create.",
        },
        "paths": paths,
        "components": { "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } } },
    })
}

/// `GET /api/openapi.json`.
#[handler]
pub(crate) async fn openapi_json(res: &mut Response) {
    res.render(Json(openapi()));
}

/// `GET /api/docs`: every endpoint with its authentication and status.
#[handler]
pub(crate) async fn page(res: &mut Response) {
    let markup = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "API · ATR" } }
            body {
                header { nav aria-label="Main" { a href="/" { "ATR · Trusted Releases" } } }
                main {
                    h1 { "API" }
                    p {
                        "The JSON API used by the " code { "atr" } " client. Get a personal access token on the "
                        a href="/tokens" { "tokens page" } ", exchange it at " code { "POST /api/jwt/create" }
                        " for a JWT, and send it as " code { "Authorization: Bearer <jwt>" }
                        " on every POST. The machine-readable description is "
                        a href="/api/openapi.json" { "/api/openapi.json" } " (OpenAPI 3.1)."
                    }
                    p { "Errors are JSON objects with " code { "error" } " and " code { "request_id" } "." }
                    table {
                        thead { tr { th { "Method" } th { "Path" } th { "Auth" } th { "Success" } th { "What" } } }
                        tbody {
                            @for e in all() {
                                @for route in e.paths {
                                    tr {
                                        td { (e.method) }
                                        td { code { (openapi_path(route)) } }
                                        td { @if e.auth { "JWT" } @else { "public" } }
                                        td { (e.status) @if let Some((s, _)) = e.also { " or " (s) } }
                                        td { (e.summary) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    crate::pages::Page(markup).render(res);
}
