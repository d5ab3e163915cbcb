//! `template.yaml` and the queue module name the same queues, and each queue reaches the
//! consumer the composition root builds for it:
//!
//! - every queue in `trickle_app::queues::ALL` is an SQS queue `<stack>-<name>` with a
//!   dead-letter queue `<stack>-<name>-dlq`, and the template defines no other queue;
//! - every function with an SQS event source is the binary whose `main` serves that queue, and
//!   every queue has one;
//! - the data bucket's object-created notifications go to the uploads queue.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use trickle_app::queues;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository root")
        .to_path_buf()
}

/// The template's resources: logical id → the resource's lines.
fn resources(template: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut in_resources = false;
    let mut current: Option<(String, String)> = None;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            in_resources = line.trim_end() == "Resources:";
            if let Some((id, body)) = current.take() {
                out.insert(id, body);
            }
            continue;
        }
        if !in_resources {
            continue;
        }
        let is_resource_head = line.starts_with("  ")
            && !line.starts_with("   ")
            && line.trim_end().ends_with(':')
            && !line.trim_start().starts_with('#');
        if is_resource_head {
            if let Some((id, body)) = current.take() {
                out.insert(id, body);
            }
            current = Some((line.trim().trim_end_matches(':').to_string(), String::new()));
        } else if let Some((_, body)) = &mut current {
            body.push_str(line);
            body.push('\n');
        }
    }
    if let Some((id, body)) = current {
        out.insert(id, body);
    }
    out
}

fn field<'a>(body: &'a str, name: &str) -> Vec<&'a str> {
    body.lines()
        .filter_map(|l| l.trim().strip_prefix(name))
        .map(str::trim)
        .collect()
}

#[test]
fn the_template_defines_exactly_the_queues_the_code_names() {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let resources = resources(&template);
    let mut names = BTreeSet::new();
    for body in resources.values() {
        if !body.contains("Type: AWS::SQS::Queue") {
            continue;
        }
        for name in field(body, "QueueName:") {
            let name = name
                .strip_prefix("!Sub ${AWS::StackName}-")
                .unwrap_or_else(|| panic!("queue name {name} is not <stack>-<name>"));
            names.insert(name.to_string());
        }
    }
    let mut expected = BTreeSet::new();
    for queue in queues::ALL {
        expected.insert(queue.to_string());
        expected.insert(format!("{queue}-dlq"));
    }
    assert_eq!(names, expected);
}

#[test]
fn each_queue_triggers_the_function_that_serves_it() {
    let root = repo_root();
    let template = std::fs::read_to_string(root.join("template.yaml")).unwrap();
    let resources = resources(&template);
    let queue_of: BTreeMap<&str, &str> = resources
        .iter()
        .filter(|(_, body)| body.contains("Type: AWS::SQS::Queue"))
        .filter_map(|(id, body)| {
            let name = field(body, "QueueName:").first().copied()?;
            Some((
                id.as_str(),
                name.trim_start_matches("!Sub ${AWS::StackName}-"),
            ))
        })
        .collect();
    let mut consumed = BTreeSet::new();
    for body in resources.values() {
        let Some(binary) = field(body, "Binary:").first().copied() else {
            continue;
        };
        let function = binary
            .strip_prefix("trickle-fn-")
            .unwrap_or_else(|| panic!("binary {binary} is not trickle-fn-<name>"));
        let main = std::fs::read_to_string(root.join(format!("functions/{function}/src/main.rs")))
            .unwrap_or_else(|e| panic!("{binary}: {e}"));
        for source in field(body, "Queue: !GetAtt") {
            let logical = source.trim_end_matches(".Arn");
            let queue = queue_of
                .get(logical)
                .unwrap_or_else(|| panic!("{binary} reads {logical}, which is not a queue"));
            let constant = format!("queues::{}", queue.to_uppercase());
            assert!(
                main.contains(&constant),
                "{binary} is triggered by the {queue} queue but its main does not serve {constant}"
            );
            consumed.insert(queue.to_string());
        }
    }
    for queue in queues::ALL {
        assert!(
            consumed.contains(queue),
            "no function is triggered by the {queue} queue"
        );
    }
}

#[test]
fn uploads_are_announced_on_the_uploads_queue() {
    let template = std::fs::read_to_string(repo_root().join("template.yaml")).unwrap();
    let resources = resources(&template);
    let bucket = resources
        .values()
        .find(|body| body.contains("NotificationConfiguration:"))
        .expect("a bucket with notifications");
    assert!(bucket.contains("Event: s3:ObjectCreated:*"));
    assert_eq!(field(bucket, "Queue: !GetAtt"), ["UploadsQueue.Arn"]);
    assert_eq!(queues::UPLOADS, "uploads");
}
