// Over 400 lines on purpose: the tests of one area, each standing alone; splitting them by size
// would separate the tests of one rule.
//! `/openapi.json` keeps the structural rules of OpenAPI 3.1 that `openapi-spec-validator`
//! and client generators enforce (`.ci/openapi` runs both), checked here without Python:
//! descriptions, unique operation ids, path parameters, references, typed bodies (the
//! `/sync` bodies against real answers), and descriptions of what routes do now.

use std::collections::{BTreeMap, BTreeSet};

use kobiri_core::{
    TontineId,
    sync::{PROTOCOL_VERSION, ScopeCursor},
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::dual_test;
use crate::helpers::*;
use crate::payments::circle;
use crate::sync::Phone;

const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

async fn document(app: &Http) -> Value {
    assert_status(app.get("/openapi.json", None).await, StatusCode::OK).await
}

/// `(method, path, operation)` for every operation of the document.
fn operations(doc: &Value) -> Vec<(&str, &str, &Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if METHODS.contains(&method.as_str()) {
                all.push((method.as_str(), path.as_str(), op));
            }
        }
    }
    all
}

/// Every string under a key named `key`, with where it is.
fn strings_under<'a>(value: &'a Value, key: &str, at: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let here = format!("{at}/{k}");
                match v {
                    Value::String(s) if k == key => out.push((here, s)),
                    _ => strings_under(v, key, &here, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                strings_under(v, key, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

dual_test!(
    the_document_is_openapi_3_1_and_every_response_has_a_description,
    |app| async move {
        let doc = document(&app).await;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1."));
        assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
        let mut missing = Vec::new();
        for (method, path, op) in operations(&doc) {
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has no response");
            for (status, response) in responses {
                let described = response["description"]
                    .as_str()
                    .is_some_and(|d| !d.trim().is_empty());
                if !described {
                    missing.push(format!("{method} {path} {status}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "responses without a description: {missing:#?}"
        );
    }
);

dual_test!(
    every_operation_has_a_unique_id_a_declared_tag_and_a_one_line_summary,
    |app| async move {
        let doc = document(&app).await;
        let declared: BTreeSet<&str> = doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        let mut ids = BTreeMap::new();
        for (method, path, op) in operations(&doc) {
            let id = op["operationId"].as_str().unwrap_or_else(|| {
                panic!("{method} {path} has no operationId");
            });
            if let Some(other) = ids.insert(id, format!("{method} {path}")) {
                panic!("operationId {id} is used by {other} and {method} {path}");
            }
            let tags = op["tags"].as_array().unwrap();
            assert!(!tags.is_empty(), "{method} {path} has no tag");
            for tag in tags {
                assert!(
                    declared.contains(tag.as_str().unwrap()),
                    "{method} {path}: tag {tag} is not declared"
                );
            }
            let summary = op["summary"].as_str().unwrap_or("");
            assert!(
                !summary.is_empty() && !summary.contains('\n') && summary.len() <= 300,
                "{method} {path}: the summary must be one line: {summary:?}"
            );
        }
    }
);

dual_test!(path_parameters_match_each_path_template, |app| async move {
    let doc = document(&app).await;
    for (method, path, op) in operations(&doc) {
        let in_template: BTreeSet<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let mut seen = BTreeSet::new();
        let mut declared = BTreeSet::new();
        for p in &params {
            let (name, place) = (p["name"].as_str().unwrap(), p["in"].as_str().unwrap());
            assert!(
                seen.insert((name.to_owned(), place.to_owned())),
                "{method} {path}: parameter {name} in {place} is declared twice"
            );
            if place == "path" {
                assert_eq!(
                    p["required"], true,
                    "{method} {path}: {name} must be required"
                );
                declared.insert(name.to_owned());
            }
        }
        let template: BTreeSet<String> = in_template.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            declared, template,
            "{method} {path}: the path parameters and the template disagree"
        );
    }
});

dual_test!(
    every_reference_resolves_and_every_body_has_a_real_schema,
    |app| async move {
        let doc = document(&app).await;
        let mut refs = Vec::new();
        strings_under(&doc, "$ref", "", &mut refs);
        assert!(!refs.is_empty());
        for (at, target) in &refs {
            let pointer = target.strip_prefix('#').unwrap_or_else(|| {
                panic!("{at}: {target} is not a local reference");
            });
            assert!(
                doc.pointer(pointer).is_some(),
                "{at}: {target} does not resolve"
            );
        }
        for (method, path, op) in operations(&doc) {
            let mut bodies = vec![("request".to_owned(), &op["requestBody"]["content"])];
            for (status, response) in op["responses"].as_object().unwrap() {
                bodies.push((status.clone(), &response["content"]));
            }
            for (what, content) in bodies {
                for (media, body) in content.as_object().into_iter().flatten() {
                    let schema = &body["schema"];
                    // A JSON body has a schema; a CBOR one is described in words.
                    if media != "application/json" && schema.is_null() {
                        continue;
                    }
                    let untyped = schema.is_null()
                        || schema == &json!({})
                        || schema == &json!({"type": "object"});
                    assert!(
                        !untyped,
                        "{method} {path} {what} {media}: untyped schema {schema}"
                    );
                }
            }
        }
    }
);

dual_test!(
    every_operation_that_needs_a_token_documents_the_401,
    |app| async move {
        let doc = document(&app).await;
        for (method, path, op) in operations(&doc) {
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                let unauthorized = &op["responses"]["401"];
                assert!(
                    unauthorized["content"]["application/json"]["schema"]["$ref"]
                        == "#/components/schemas/ErrorBody",
                    "{method} {path} does not document its 401"
                );
            }
        }
        let anonymous = app.get("/api/v1/devices", None).await;
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    }
);

dual_test!(
    descriptions_say_what_routes_do_now_not_their_history,
    |app| async move {
        let doc = document(&app).await;
        let mut texts = Vec::new();
        strings_under(&doc, "description", "", &mut texts);
        strings_under(&doc, "summary", "", &mut texts);
        const HISTORY: &[&str] = &[
            "previously",
            "formerly",
            "used to ",
            "no longer",
            "anymore",
            "any more",
            "in earlier versions",
            "this route answered",
            "was changed",
            "has been changed",
            "legacy",
        ];
        for (at, text) in texts {
            let lower = text.to_lowercase();
            for word in HISTORY {
                assert!(!lower.contains(word), "{at} tells history ({word}): {text}");
            }
        }
    }
);

/// A small JSON Schema check, for what utoipa generates: `$ref`, `oneOf`/`anyOf`/`allOf`,
/// `type` (one or a list), `enum`, `properties`/`required` (a key the schema does not list is
/// an error, so a field missing from the document is caught), `additionalProperties` and
/// `items`.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    if let Some(target) = schema["$ref"].as_str() {
        let target = doc.pointer(target.trim_start_matches('#')).unwrap();
        return conforms(doc, target, value, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(branches) = schema[key].as_array() {
            let ok = branches
                .iter()
                .filter(|b| conforms(doc, b, value, at).is_empty())
                .count();
            if ok == 0 || (key == "oneOf" && ok > 1) {
                return vec![format!("{at}: {ok} branches of {key} match {value}")];
            }
        }
    }
    let mut errors = Vec::new();
    for branch in schema["allOf"].as_array().into_iter().flatten() {
        errors.extend(conforms(doc, branch, value, at));
    }
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty()
        && !types
            .iter()
            .any(|t| *t == kind || (*t == "number" && kind == "integer"))
    {
        errors.push(format!("{at}: {kind} where the schema says {types:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let Value::Object(fields) = value {
        let properties = schema["properties"].as_object();
        for required in schema["required"].as_array().into_iter().flatten() {
            if !fields.contains_key(required.as_str().unwrap()) {
                errors.push(format!("{at}: {required} is missing"));
            }
        }
        for (key, field) in fields {
            let here = format!("{at}/{key}");
            match properties.and_then(|p| p.get(key)) {
                Some(s) => errors.extend(conforms(doc, s, field, &here)),
                None if schema["additionalProperties"].is_object() => {
                    errors.extend(conforms(doc, &schema["additionalProperties"], field, &here));
                }
                None if properties.is_some() => errors.push(format!("{here}: not in the schema")),
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            errors.extend(conforms(doc, item, v, &format!("{at}/{i}")));
        }
    }
    errors
}

dual_test!(
    the_sync_bodies_in_the_document_match_real_json_requests_and_answers,
    |app| async move {
        let doc = document(&app).await;
        let sync = &doc["paths"]["/sync"]["post"];
        let request_schema = &sync["requestBody"]["content"]["application/json"]["schema"];
        let answer_schema = &sync["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(request_schema["$ref"], "#/components/schemas/SyncRequest");
        assert_eq!(answer_schema["$ref"], "#/components/schemas/SyncResponse");
        assert!(sync["requestBody"]["content"]["application/cbor"].is_object());

        // A collector pushes a cash payment and the same member's second one (flagged), and
        // pulls the tontine from scratch: every kind of field appears in the answer.
        let c = circle(&app, json!({})).await;
        let mut phone = Phone::enroll(&app, &c.collector).await;
        let session = c.session["id"].as_str().unwrap().to_owned();
        let first = phone.pay(&c, &c.members[0], &session);
        let second = phone.pay(&c, &c.members[0], &session);
        let mut request = phone.request(vec![first, second]);
        request.cursors.push(ScopeCursor {
            tontine_id: TontineId::from_uuid(c.id().parse().unwrap()),
            cursor: 0,
        });
        assert_eq!(request.protocol_version, PROTOCOL_VERSION);
        let request = serde_json::to_value(&request).unwrap();
        let errors = conforms(&doc, request_schema, &request, "request");
        assert!(errors.is_empty(), "{errors:#?}");

        let resp = app
            .client
            .post(app.url("/sync"))
            .bearer_auth(&phone.token)
            .header("content-type", "application/json")
            .json(&request)
            .send()
            .await
            .unwrap();
        let answer = assert_status(resp, StatusCode::OK).await;
        let outcomes: Vec<&Value> = answer["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| &o["outcome"]["outcome"])
            .collect();
        assert_eq!(outcomes, [&json!("applied"), &json!("flagged")]);
        assert!(
            !answer["scopes"][0]["changes"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let errors = conforms(&doc, answer_schema, &answer, "answer");
        assert!(errors.is_empty(), "{errors:#?}");
        // The check itself catches an unknown tag and a field the document does not list.
        let mut wrong = answer.clone();
        wrong["outcomes"][0]["outcome"]["outcome"] = json!("lost");
        wrong["scopes"][0]["extra"] = json!(1);
        assert_eq!(conforms(&doc, answer_schema, &wrong, "answer").len(), 2);
    }
);

/// The `.rs` files under `dir`, recursively.
fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Two types with the same schema name would silently share one component (the last one
/// registered wins), so one route would show the other's body: each derived schema name,
/// the type's or its `#[schema(as = …)]`, is used once in the server and core.
#[test]
fn every_derived_schema_has_its_own_name() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    sources(&root.join("../core/src"), &mut files);
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !(line.contains("derive(") && line.contains("ToSchema")) {
                continue;
            }
            let mut renamed = None;
            for next in lines.iter().skip(i).take(12) {
                if let Some(rest) = next.split("schema(as = ").nth(1) {
                    let end = rest.find([',', ')']).unwrap();
                    renamed = Some(rest[..end].trim().to_owned());
                }
                let item = next
                    .trim_start()
                    .strip_prefix("pub struct ")
                    .or_else(|| next.trim_start().strip_prefix("pub enum "));
                if let Some(item) = item {
                    let end = item
                        .find(|c: char| !c.is_alphanumeric() && c != '_')
                        .unwrap_or(item.len());
                    let name = renamed.take().unwrap_or_else(|| item[..end].to_owned());
                    let here = format!("{}:{}", file.display(), i + 1);
                    if let Some(other) = names.insert(name.clone(), here.clone()) {
                        panic!(
                            "schema name {name} is derived at {other} and at {here}: give one a #[schema(as = …)]"
                        );
                    }
                    break;
                }
            }
        }
    }
    assert!(
        names.contains_key("SyncRequest") && names.contains_key("GenerateSessionsRequest"),
        "{names:?}"
    );
}
