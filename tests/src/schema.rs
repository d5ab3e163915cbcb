//! A small JSON Schema (2020-12) checker for the subset the OpenAPI document uses, so tests can
//! hold real responses and the document's examples against their documented schemas.
//!
//! It refuses any keyword it does not know: a schema it cannot check fails the test instead of
//! passing silently. `pattern` is the one keyword read but not enforced (the workspace has no
//! regex engine; the one pattern, `HH:MM` send times, is enforced by the server's own parser).

use serde_json::Value;

/// Every way `value` fails `schema`, as "path: problem" lines. Empty means it conforms.
pub fn violations(doc: &Value, schema: &Value, value: &Value) -> Vec<String> {
    let mut out = Vec::new();
    check(doc, schema, value, "$", &mut out);
    out
}

const ANNOTATIONS: &[&str] = &[
    "description",
    "default",
    "examples",
    "format",
    "contentMediaType",
    "title",
    "pattern",
];

fn check(doc: &Value, schema: &Value, value: &Value, at: &str, out: &mut Vec<String>) {
    let Some(schema) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            out.push(format!("{at}: nothing is allowed here"));
        }
        return;
    };
    for (keyword, rule) in schema {
        match keyword.as_str() {
            "$ref" => {
                let target = resolve(doc, rule.as_str().unwrap_or_default());
                match target {
                    Some(target) => check(doc, target, value, at, out),
                    None => out.push(format!("{at}: dangling $ref {rule}")),
                }
            }
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => vec![],
                };
                if !allowed.iter().any(|t| is_type(value, t)) {
                    out.push(format!("{at}: expected {allowed:?}, found {}", kind(value)));
                }
            }
            "properties" => {
                if let (Some(props), Some(obj)) = (rule.as_object(), value.as_object()) {
                    for (name, sub) in props {
                        if let Some(v) = obj.get(name) {
                            check(doc, sub, v, &format!("{at}.{name}"), out);
                        }
                    }
                }
            }
            "required" => {
                if let Some(obj) = value.as_object() {
                    for name in rule.as_array().into_iter().flatten() {
                        let name = name.as_str().unwrap_or_default();
                        if !obj.contains_key(name) {
                            out.push(format!("{at}: missing required field `{name}`"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(obj) = value.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for (name, v) in obj {
                        if known.is_some_and(|k| k.contains_key(name)) {
                            continue;
                        }
                        check(doc, rule, v, &format!("{at}.{name}"), out);
                    }
                }
            }
            "items" => {
                for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                    check(doc, rule, item, &format!("{at}[{i}]"), out);
                }
            }
            "minItems" => {
                if let (Some(min), Some(a)) = (rule.as_u64(), value.as_array()) {
                    if (a.len() as u64) < min {
                        out.push(format!("{at}: fewer than {min} items"));
                    }
                }
            }
            "enum" => {
                if !rule
                    .as_array()
                    .is_some_and(|options| options.contains(value))
                {
                    out.push(format!("{at}: {value} is not one of {rule}"));
                }
            }
            "const" => {
                if rule != value {
                    out.push(format!("{at}: {value} is not {rule}"));
                }
            }
            "oneOf" => {
                let options = rule.as_array().cloned().unwrap_or_default();
                let matching = options
                    .iter()
                    .filter(|o| violations(doc, o, value).is_empty())
                    .count();
                if matching != 1 {
                    out.push(format!(
                        "{at}: matches {matching} of the {} oneOf options, not exactly one",
                        options.len()
                    ));
                }
            }
            "minimum" => {
                if let (Some(min), Some(n)) = (rule.as_f64(), value.as_f64()) {
                    if n < min {
                        out.push(format!("{at}: {n} is below the minimum {min}"));
                    }
                }
            }
            "maximum" => {
                if let (Some(max), Some(n)) = (rule.as_f64(), value.as_f64()) {
                    if n > max {
                        out.push(format!("{at}: {n} is above the maximum {max}"));
                    }
                }
            }
            "maxLength" => {
                if let (Some(max), Some(s)) = (rule.as_u64(), value.as_str()) {
                    if s.chars().count() as u64 > max {
                        out.push(format!("{at}: longer than {max} characters"));
                    }
                }
            }
            other if ANNOTATIONS.contains(&other) => {}
            other => out.push(format!(
                "{at}: the checker does not know the keyword `{other}`"
            )),
        }
    }
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    doc.pointer(pointer)
}

fn is_type(value: &Value, t: &str) -> bool {
    match t {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => false,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The schema documented for a response: `paths[path][method].responses[status]` (or its
/// `default`), JSON content. `None` when the document has no JSON body for it.
pub fn response_schema<'a>(
    doc: &'a Value,
    path: &str,
    method: &str,
    status: u16,
) -> Option<&'a Value> {
    let responses = &doc["paths"][path][method]["responses"];
    let response = responses
        .get(status.to_string())
        .or_else(|| responses.get("default"))?;
    let response = match response.get("$ref").and_then(Value::as_str) {
        Some(r) => resolve(doc, r)?,
        None => response,
    };
    response.pointer("/content/application~1json/schema")
}

/// The documented path a concrete request path falls under: literal segments win over
/// `{param}` ones, so `/v1/campaigns/preview` is not read as `/v1/campaigns/{id}`.
pub fn documented_path(doc: &Value, concrete: &str) -> Option<String> {
    let concrete = concrete.split('?').next().unwrap_or_default();
    let wanted: Vec<&str> = concrete.split('/').collect();
    doc["paths"]
        .as_object()?
        .keys()
        .filter_map(|path| {
            let segments: Vec<&str> = path.split('/').collect();
            if segments.len() != wanted.len() {
                return None;
            }
            let mut literal = 0;
            for (s, w) in segments.iter().zip(&wanted) {
                if s.starts_with('{') {
                    continue;
                }
                if s != w {
                    return None;
                }
                literal += 1;
            }
            Some((literal, path.clone()))
        })
        .max()
        .map(|(_, path)| path)
}

/// Panics, naming every violation, unless `body` is what the OpenAPI document promises for this
/// method, path and status. Every answer must be documented: an undocumented status fails too.
pub fn assert_documented(doc: &Value, method: &str, concrete: &str, status: u16, body: &Value) {
    let method = method.to_lowercase();
    let path = documented_path(doc, concrete)
        .unwrap_or_else(|| panic!("{method} {concrete}: no documented path"));
    let responses = &doc["paths"][&path][&method]["responses"];
    assert!(
        responses.get(status.to_string()).is_some() || responses.get("default").is_some(),
        "{method} {path} answered {status}, which the document does not list"
    );
    if let Some(schema) = response_schema(doc, &path, &method, status) {
        let problems = violations(doc, schema, body);
        assert!(
            problems.is_empty(),
            "{method} {path} {status} does not match its schema: {problems:#?}\nbody: {body:#}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn it_finds_each_kind_of_violation_and_passes_a_conforming_value() {
        let doc = json!({"components": {"schemas": {"Id": {"type": "string", "maxLength": 3}}}});
        let schema = json!({
            "type": "object",
            "required": ["id", "n"],
            "properties": {
                "id": {"$ref": "#/components/schemas/Id"},
                "n": {"type": "integer", "minimum": 1, "maximum": 5},
                "state": {"enum": ["a", "b"]},
                "tags": {"type": "array", "items": {"type": "string"}}
            },
            "additionalProperties": false
        });
        assert!(violations(&doc, &schema, &json!({"id": "abc", "n": 2, "tags": ["x"]})).is_empty());
        let bad = violations(
            &doc,
            &schema,
            &json!({"id": "abcd", "n": 9, "state": "c", "tags": [1], "extra": true}),
        );
        assert_eq!(bad.len(), 5, "{bad:?}");
        let missing = violations(&doc, &schema, &json!({}));
        assert_eq!(missing.len(), 2, "{missing:?}");
        let unknown = violations(&doc, &json!({"uniqueItems": true}), &json!([]));
        assert_eq!(unknown.len(), 1, "an unknown keyword must fail, not pass");
    }
}
