//! The OpenAPI 3.1 document, assembled from one fragment per resource (kept beside the routes
//! they describe; a test checks that every route is documented and every documented route
//! exists).

use std::sync::OnceLock;

use axum::Json;
use serde_json::{Map, Value};

/// `base.json` first; each other fragment adds `paths` and `components.schemas`.
const FRAGMENTS: &[&str] = &[
    include_str!("../openapi/base.json"),
    include_str!("../openapi/contacts.json"),
    include_str!("../openapi/health.json"),
    include_str!("../openapi/campaigns.json"),
    include_str!("../openapi/audience.json"),
    include_str!("../openapi/local-blobs.json"),
    include_str!("../openapi/webhooks.json"),
    include_str!("../openapi/events.json"),
    include_str!("../openapi/opt-outs.json"),
    include_str!("../openapi/activities.json"),
    include_str!("../openapi/reconciliations.json"),
    include_str!("../openapi/insights.json"),
    include_str!("../openapi/templates.json"),
];

pub fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut fragments = FRAGMENTS
            .iter()
            .map(|f| serde_json::from_str::<Value>(f).expect("openapi fragments are JSON"));
        let mut doc = fragments.next().expect("base fragment");
        for fragment in fragments {
            merge_section(&mut doc, &fragment, &["paths"]);
            merge_section(&mut doc, &fragment, &["components", "schemas"]);
        }
        doc
    })
}

fn merge_section(doc: &mut Value, fragment: &Value, path: &[&str]) {
    let Some(Value::Object(add)) = path.iter().try_fold(fragment, |v, k| v.get(k)) else {
        return;
    };
    let mut target = doc;
    for key in path {
        target = target
            .as_object_mut()
            .expect("openapi sections are objects")
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    let target = target
        .as_object_mut()
        .expect("openapi sections are objects");
    for (k, v) in add {
        assert!(
            target.insert(k.clone(), v.clone()).is_none(),
            "{k} documented twice"
        );
    }
}

pub(crate) async fn serve() -> Json<&'static Value> {
    Json(document())
}
