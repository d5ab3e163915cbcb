//! A function's IAM policy as `template.yaml` writes it, resolved for one stack, and the check
//! IAM makes: an action is allowed when a statement names it (or a wildcard covering it) on a
//! resource pattern that covers the ARN.

use serde_yaml::Value;

use super::recorder::Call;
use super::template::Template;

#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
    pub has_condition: bool,
}

impl Statement {
    pub fn allows(&self, call: &Call) -> bool {
        self.actions.iter().any(|a| glob(a, &call.action))
            && call
                .resources
                .iter()
                .any(|arn| self.resources.iter().any(|r| glob(r, arn)))
    }
}

fn list(value: &Value, template: &Template) -> Vec<String> {
    match value {
        Value::Sequence(items) => items.iter().map(|v| template.resolve(v)).collect(),
        other => vec![template.resolve(other)],
    }
}

impl Template {
    /// The statements of the function's inline policies.
    pub fn policy(&self, logical_id: &str) -> Vec<Statement> {
        let body = self.resource_body(logical_id);
        body["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .flat_map(|policy| {
                policy["Statement"]
                    .as_sequence()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|statement| {
                assert_eq!(
                    statement["Effect"].as_str(),
                    Some("Allow"),
                    "{logical_id}: only Allow statements are expected"
                );
                Statement {
                    sid: statement["Sid"].as_str().unwrap_or_default().to_string(),
                    actions: list(&statement["Action"], self),
                    resources: list(&statement["Resource"], self),
                    has_condition: statement.get("Condition").is_some(),
                }
            })
            .collect()
    }
}

/// IAM's wildcard match: `*` is any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}
