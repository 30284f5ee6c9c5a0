//! JSON Schemas of the API's request and response types, derived from the Rust types themselves:
//! [`wire!`] declares a struct and its [`Schema`] together, so the OpenAPI description
//! (`/api/openapi.json`) cannot drift from what the handlers parse and send.

use serde_json::{Value, json};

/// A type with a JSON Schema (OpenAPI 3.1 dialect).
pub(crate) trait Schema {
    /// The schema of a value of this type.
    fn schema() -> Value;
    /// Whether a field of this type may be left out of a request (only `Option`).
    fn optional() -> bool {
        false
    }
}

impl Schema for String {
    fn schema() -> Value {
        json!({ "type": "string" })
    }
}

impl Schema for bool {
    fn schema() -> Value {
        json!({ "type": "boolean" })
    }
}

macro_rules! integer_schema {
    ($($t:ty),*) => {$(
        impl Schema for $t {
            fn schema() -> Value {
                json!({ "type": "integer" })
            }
        }
    )*};
}
integer_schema!(i64, u32, u64);

impl Schema for Value {
    fn schema() -> Value {
        json!({ "description": "any JSON value" })
    }
}

impl<T: Schema> Schema for Option<T> {
    fn schema() -> Value {
        json!({ "anyOf": [T::schema(), { "type": "null" }] })
    }
    fn optional() -> bool {
        true
    }
}

impl<T: Schema> Schema for Vec<T> {
    fn schema() -> Value {
        json!({ "type": "array", "items": T::schema() })
    }
}

/// A `true` that is always `true` (`{"success": true}`, `{"deleted": true}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct True;

impl serde::Serialize for True {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bool(true)
    }
}

impl<'de> serde::Deserialize<'de> for True {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if bool::deserialize(d)? { Ok(True) } else { Err(serde::de::Error::custom("expected `true`")) }
    }
}

impl Schema for True {
    fn schema() -> Value {
        json!({ "type": "boolean", "const": true })
    }
}

/// Schemas of the core's wire enums: the strings they serialize to.
macro_rules! enum_schema {
    ($($t:ty),*) => {$(
        impl Schema for $t {
            fn schema() -> Value {
                let names: Vec<&str> = <$t>::ALL.iter().map(|v| v.as_str()).collect();
                json!({ "type": "string", "enum": names })
            }
        }
    )*};
}
enum_schema!(
    atr_core::model::ReleasePhase,
    atr_core::model::TaskType,
    atr_core::model::TaskStatus,
    atr_core::model::DistributionPlatform
);

impl Schema for atr_core::check::CheckStatus {
    fn schema() -> Value {
        json!({ "type": "string", "enum": ["blocker", "concern", "exception", "note", "suggestion"] })
    }
}

/// Schemas of the core's validated strings.
macro_rules! string_schema {
    ($($t:ty => $desc:literal),*) => {$(
        impl Schema for $t {
            fn schema() -> Value {
                json!({ "type": "string", "description": $desc })
            }
        }
    )*};
}
string_schema!(
    atr_core::ids::ProjectKey => "project key: lowercase letters, digits and `-`",
    atr_core::ids::VersionKey => "version: letters, digits and `.+-_`, starting and ending alphanumeric",
    atr_core::ids::RevisionNumber => "revision number, five digits such as `00004`",
    atr_core::ids::Uid => "ASF user id",
    atr_core::ids::CommitteeKey => "committee key",
    atr_core::time::Timestamp => "ISO 8601 date and time (UTC)",
    atr_core::path::RelPath => "relative path inside a revision"
);

/// Declares a struct with serde derives and its [`Schema`] (an object with exactly these
/// properties; every field is required except `Option`s, which may also be `null`).
macro_rules! wire {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(crate) struct $name {
            $( $(#[$fmeta])* pub(crate) $field: $ty, )*
        }

        impl $crate::api::schema::Schema for $name {
            fn schema() -> serde_json::Value {
                let mut properties = serde_json::Map::new();
                let mut required: Vec<&str> = Vec::new();
                $(
                    properties.insert(
                        stringify!($field).to_owned(),
                        <$ty as $crate::api::schema::Schema>::schema(),
                    );
                    if !<$ty as $crate::api::schema::Schema>::optional() {
                        required.push(stringify!($field));
                    }
                )*
                serde_json::json!({
                    "type": "object",
                    "title": stringify!($name),
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                })
            }
        }
    };
}
pub(crate) use wire;

#[cfg(test)]
mod tests {
    use super::*;

    wire! {
        /// A test type.
        Example { name: String, count: i64, note: Option<String>, tags: Vec<String> }
    }

    #[test]
    fn schemas_follow_the_types() {
        let s = Example::schema();
        assert_eq!(s["required"], json!(["name", "count", "tags"]));
        assert_eq!(s["properties"]["count"]["type"], "integer");
        assert_eq!(s["properties"]["note"]["anyOf"][1]["type"], "null");
        assert_eq!(s["properties"]["tags"]["items"]["type"], "string");
        assert_eq!(s["additionalProperties"], false);
        let phases = atr_core::model::ReleasePhase::schema();
        assert_eq!(phases["enum"][0], "release_candidate_draft");
    }
}
