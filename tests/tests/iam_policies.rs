//! Each function's IAM policy in `template.yaml` against the calls its code makes:
//! - every action granted is one the AWS adapters in `shared/aws` actually call (read from
//!   their source), so nothing unused is granted;
//! - a function triggered by a queue may receive from and delete on that queue (its event
//!   source mapping needs it), and no statement covers the whole stack (`${StackName}-*`) or
//!   every SES identity;
//! - the secrets a function may read are exactly the ones its `main.rs` asks for;
//! - KMS is granted only for SSM's decryption, under a `kms:ViaService` condition.
//!
//! The Lambda harness (`lambda_harness.rs`) checks the other direction: every call a function
//! makes in its stories is one its policy allows.

use std::collections::{BTreeMap, BTreeSet};

use trickle_host::lambda::secrets;
use trickle_tests::lambda::recorder::Call;
use trickle_tests::lambda::template::{ACCOUNT, REGION};
use trickle_tests::lambda::Template;

const STACK: &str = "iam";

fn template() -> Template {
    template_with(&[])
}

fn template_with(extra: &[(&str, &str)]) -> Template {
    let mut parameters = vec![
        ("AlertEmail", "owner@example.com"),
        ("AlertFromEmail", "alerts@example.com"),
        ("SecretsPrefix", "/trickle/iam"),
        ("HealthSender", "PN123"),
        ("HealthReceiver", "+13105550199"),
        ("ReconcileNumbers", "+13105550100"),
        ("ForwardUrl", "https://crm.example.com/hook"),
    ];
    parameters.extend_from_slice(extra);
    Template::load(STACK, &parameters)
}

fn source(relative: &str) -> String {
    std::fs::read_to_string(format!("{}/../{relative}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The IAM actions the AWS adapters can need, from the SDK calls in their source.
fn actions_the_code_makes() -> BTreeSet<String> {
    let calls = [
        ("dynamodb.rs", ".get_item()", &["dynamodb:GetItem"][..]),
        (
            "dynamodb.rs",
            ".batch_get_item()",
            &["dynamodb:BatchGetItem"],
        ),
        ("dynamodb.rs", ".put_item()", &["dynamodb:PutItem"]),
        ("dynamodb.rs", ".update_item()", &["dynamodb:UpdateItem"]),
        ("dynamodb.rs", ".delete_item()", &["dynamodb:DeleteItem"]),
        ("dynamodb.rs", ".query()", &["dynamodb:Query"]),
        // A transaction is authorized by the item actions it holds, plus condition checks.
        (
            "dynamodb.rs",
            ".transact_write_items()",
            &["dynamodb:ConditionCheckItem"],
        ),
        ("sqs.rs", ".send_message()", &["sqs:SendMessage"]),
        ("sqs.rs", ".receive_message()", &["sqs:ReceiveMessage"]),
        ("sqs.rs", ".delete_message()", &["sqs:DeleteMessage"]),
        (
            "sqs.rs",
            ".change_message_visibility()",
            &["sqs:ChangeMessageVisibility"],
        ),
        ("sqs.rs", ".get_queue_url()", &["sqs:GetQueueUrl"]),
        (
            "sqs.rs",
            ".get_queue_attributes()",
            &["sqs:GetQueueAttributes"],
        ),
        ("s3.rs", ".get_object()", &["s3:GetObject"]),
        ("s3.rs", ".version_id(", &["s3:GetObjectVersion"]),
        ("s3.rs", ".put_object()", &["s3:PutObject"]),
        ("ses.rs", ".send_email()", &["ses:SendEmail"]),
        // SecureStrings are decrypted by SSM with the AWS-managed key.
        (
            "secrets.rs",
            ".get_parameters()",
            &["ssm:GetParameters", "kms:Decrypt"],
        ),
    ];
    let mut actions = BTreeSet::new();
    for (file, call, granted) in calls {
        if source(&format!("shared/aws/src/{file}")).contains(call) {
            actions.extend(granted.iter().map(|a| a.to_string()));
        }
    }
    actions
}

/// The secrets each function's `main.rs` names (`secrets::X` → its SSM name).
fn secrets_of_main(binary: &str) -> BTreeSet<String> {
    let crate_dir = binary.trim_start_matches("trickle-fn-");
    let main = source(&format!("functions/{crate_dir}/src/main.rs"));
    let known = BTreeMap::from([
        ("ADMIN_TOKEN", secrets::ADMIN_TOKEN),
        ("OPENPHONE_API_KEY", secrets::OPENPHONE_API_KEY),
        ("OPENPHONE_WEBHOOK_KEY", secrets::OPENPHONE_WEBHOOK_KEY),
        (
            "OPENPHONE_WEBHOOK_KEY_PREVIOUS",
            secrets::OPENPHONE_WEBHOOK_KEY_PREVIOUS,
        ),
        ("NUMVERIFY_KEY", secrets::NUMVERIFY_KEY),
        ("FORWARD_KEY", secrets::FORWARD_KEY),
    ]);
    main.split("secrets::")
        .skip(1)
        .map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            known
                .get(name.as_str())
                .unwrap_or_else(|| panic!("{binary}: unknown secret {name}"))
                .to_string()
        })
        .collect()
}

#[test]
fn every_granted_action_is_one_the_code_makes() {
    let template = template();
    let made = actions_the_code_makes();
    let mut unused = Vec::new();
    for function in template.functions() {
        for statement in template.policy(&function.logical_id) {
            for action in &statement.actions {
                if !made.contains(action) {
                    unused.push(format!(
                        "{} {}: {action}",
                        function.logical_id, statement.sid
                    ));
                }
            }
        }
    }
    assert!(
        unused.is_empty(),
        "granted but never called by the adapters:\n{}",
        unused.join("\n")
    );
}

#[test]
fn a_queue_function_may_consume_its_queue_and_nothing_covers_the_whole_stack() {
    let template = template();
    let mut problems = Vec::new();
    for function in template.functions() {
        let policy = template.policy(&function.logical_id);
        for (queue, _) in &function.sqs_sources {
            let arn = format!(
                "arn:aws:sqs:{REGION}:{ACCOUNT}:{}",
                template.queue(queue).name
            );
            for action in [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
            ] {
                let call = Call {
                    action: action.into(),
                    resources: vec![arn.clone()],
                };
                if !policy.iter().any(|s| s.allows(&call)) {
                    problems.push(format!("{}: {action} on {queue}", function.logical_id));
                }
            }
        }
        for statement in &policy {
            for resource in &statement.resources {
                let kms = resource.starts_with("arn:aws:kms:");
                let broad = resource == "*"
                    || resource.contains(&format!(":{STACK}-*"))
                    || resource.ends_with(":identity/*")
                    || resource.ends_with(":parameter/trickle/iam/*")
                    || (resource.ends_with("/*")
                        && !resource.contains("/index/")
                        && !resource.starts_with("arn:aws:s3:::")
                        && !kms);
                if broad {
                    problems.push(format!(
                        "{} {}: {resource} is wider than what it uses",
                        function.logical_id, statement.sid
                    ));
                }
                if kms && !statement.has_condition {
                    problems.push(format!(
                        "{} {}: kms:Decrypt without its kms:ViaService condition",
                        function.logical_id, statement.sid
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn each_function_may_read_exactly_the_secrets_its_main_asks_for() {
    let template = template();
    let prefix = format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/trickle/iam/");
    let mut mismatches = Vec::new();
    for function in template.functions() {
        let granted: BTreeSet<String> = template
            .policy(&function.logical_id)
            .iter()
            .filter(|s| s.actions.iter().any(|a| a.starts_with("ssm:")))
            .flat_map(|s| s.resources.clone())
            .map(|arn| {
                arn.strip_prefix(&prefix)
                    .unwrap_or_else(|| {
                        panic!("{}: {arn} is outside the prefix", function.logical_id)
                    })
                    .to_string()
            })
            .collect();
        let asked = secrets_of_main(&function.binary);
        let decrypts = template
            .policy(&function.logical_id)
            .iter()
            .any(|s| s.actions.iter().any(|a| a == "kms:Decrypt"));
        if granted != asked || decrypts == asked.is_empty() {
            mismatches.push(format!(
                "{}: main.rs asks for {asked:?}, the policy grants {granted:?} (kms: {decrypts})",
                function.logical_id
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn alerts_are_sent_only_as_the_configured_sender() {
    let template = template();
    for function in template.functions() {
        for statement in template.policy(&function.logical_id) {
            if statement.actions.iter().any(|a| a.starts_with("ses:")) {
                let identity = |id: &str| format!("arn:aws:ses:{REGION}:{ACCOUNT}:identity/{id}");
                assert_eq!(
                    statement.resources,
                    [identity("alerts@example.com"), identity("example.com")],
                    "{}",
                    function.logical_id
                );
            }
        }
    }
}

/// A captured event's large body in `events/` expires with its table item: the bucket's
/// lifecycle rule and the functions' retention setting are the same parameter.
#[test]
fn captured_event_bodies_expire_with_their_events() {
    let template = template_with(&[("WebhookRetentionDays", "45")]);
    let bucket = template.data_bucket();
    assert_eq!(
        bucket.expirations,
        [("events/".to_string(), "45".to_string())]
    );
    for function in template.functions() {
        assert_eq!(
            function
                .environment
                .get("TRICKLE_WEBHOOK_RETENTION_DAYS")
                .map(String::as_str),
            Some("45"),
            "{}",
            function.logical_id
        );
    }
}
