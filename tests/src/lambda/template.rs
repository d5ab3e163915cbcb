//! `template.yaml` read as CloudFormation would: the functions (binary, environment, time limit,
//! event sources), the queues (with their dead-letter redrive), the table, the data bucket and
//! its notifications, and the schedule rules, with `!Ref`, `!Sub`, `!GetAtt` and `!If` resolved
//! for one stack. The harness builds moto's resources from this, never from a second schema.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::Value;

pub const REGION: &str = "us-east-1";
/// moto's default account.
pub const ACCOUNT: &str = "123456789012";

pub struct Template {
    root: Value,
    stack: String,
    parameters: BTreeMap<String, String>,
}

/// One `AWS::Serverless::Function`.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    pub logical_id: String,
    /// The cargo binary `make package` builds for it (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub name: String,
    /// Globals' variables overlaid with the function's own, resolved.
    pub environment: BTreeMap<String, String>,
    pub timeout_secs: u64,
    pub memory_mb: u64,
    /// Queues that trigger it: (queue logical id, batch size).
    pub sqs_sources: Vec<(String, usize)>,
    pub schedules: Vec<String>,
    pub http_api: bool,
}

#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub logical_id: String,
    pub name: String,
    pub visibility_timeout: u64,
    /// (dead-letter queue's logical id, maxReceiveCount)
    pub redrive: Option<(String, u32)>,
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    pub name: String,
    /// attribute → type (`S`, `N`, `B`)
    pub attributes: Vec<(String, String)>,
    /// (attribute, `HASH`/`RANGE`)
    pub key_schema: Vec<(String, String)>,
    /// index name → its key schema
    pub indexes: Vec<(String, Vec<(String, String)>)>,
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BucketSpec {
    /// Lifecycle rules that delete current objects: (prefix, days after creation).
    pub expirations: Vec<(String, String)>,
    pub name: String,
    pub versioned: bool,
    /// (event, queue logical id, key prefix)
    pub queue_notifications: Vec<(String, String, Option<String>)>,
}

/// An `AWS::Events::Rule` that feeds a queue.
#[derive(Debug, Clone)]
pub struct RuleSpec {
    pub logical_id: String,
    pub schedule: String,
    pub queue: String,
    pub input: String,
    pub enabled: bool,
}

impl Template {
    /// The repository's `template.yaml` for stack `stack` with `parameters` over the defaults.
    pub fn load(stack: &str, parameters: &[(&str, &str)]) -> Self {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let text = std::fs::read_to_string(&path).expect("read template.yaml");
        let root: Value = serde_yaml::from_str(&text).expect("template.yaml is YAML");
        let mut values = BTreeMap::new();
        if let Some(declared) = root.get("Parameters").and_then(Value::as_mapping) {
            for (name, spec) in declared {
                let name = name.as_str().expect("parameter name").to_string();
                if let Some(default) = spec.get("Default") {
                    values.insert(name, scalar(default));
                }
            }
        }
        for (name, value) in parameters {
            assert!(
                root["Parameters"].get(*name).is_some(),
                "template.yaml has no parameter {name}"
            );
            values.insert(name.to_string(), value.to_string());
        }
        Self {
            root,
            stack: stack.to_string(),
            parameters: values,
        }
    }

    pub fn stack(&self) -> &str {
        &self.stack
    }

    pub fn parameter(&self, name: &str) -> &str {
        self.parameters
            .get(name)
            .unwrap_or_else(|| panic!("parameter {name} has no value"))
    }

    fn resources(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.root["Resources"]
            .as_mapping()
            .expect("Resources")
            .iter()
            .map(|(id, body)| (id.as_str().expect("logical id"), body))
    }

    fn resources_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.resources()
            .filter(move |(_, body)| body["Type"].as_str() == Some(kind))
    }

    pub(crate) fn resource_body(&self, id: &str) -> &Value {
        self.resource(id)
    }

    fn resource(&self, id: &str) -> &Value {
        self.root["Resources"]
            .get(id)
            .unwrap_or_else(|| panic!("template.yaml has no resource {id}"))
    }

    fn condition(&self, name: &str) -> bool {
        let rule = &self.root["Conditions"][name];
        self.truth(rule)
    }

    fn truth(&self, rule: &Value) -> bool {
        match rule {
            Value::Bool(b) => *b,
            Value::Tagged(tagged) => match tagged.tag.to_string().as_str() {
                "!Equals" => {
                    let pair = tagged.value.as_sequence().expect("!Equals [a, b]");
                    self.resolve(&pair[0]) == self.resolve(&pair[1])
                }
                "!Not" => !self.truth(&tagged.value.as_sequence().expect("!Not [c]")[0]),
                "!Condition" => self.condition(tagged.value.as_str().expect("name")),
                other => panic!("condition function {other} is not understood"),
            },
            Value::Mapping(map) if map.contains_key("Condition") => {
                self.condition(map["Condition"].as_str().expect("name"))
            }
            other => panic!("condition {other:?} is not understood"),
        }
    }

    /// The value CloudFormation would put here, as a string.
    pub fn resolve(&self, value: &Value) -> String {
        match value {
            Value::Tagged(tagged) => {
                let tag = tagged.tag.to_string();
                match tag.as_str() {
                    "!Ref" => self.reference(tagged.value.as_str().expect("!Ref name")),
                    "!GetAtt" => {
                        let target = tagged.value.as_str().expect("!GetAtt X.Attr");
                        let (id, attribute) = target.split_once('.').expect("X.Attr");
                        self.attribute(id, attribute)
                    }
                    "!Sub" => match &tagged.value {
                        Value::Sequence(parts) => {
                            // !Sub [text, {Name: value}]: the names first, then the rest.
                            let mut text = scalar(&parts[0]);
                            if let Some(names) = parts.get(1).and_then(Value::as_mapping) {
                                for (name, value) in names {
                                    let name = format!("${{{}}}", scalar(name));
                                    text = text.replace(&name, &self.resolve(value));
                                }
                            }
                            self.substitute(&text)
                        }
                        text => self.substitute(text.as_str().expect("!Sub string")),
                    },
                    "!Select" => {
                        // Only !Select [n, !Split [delimiter, value]] is used.
                        let parts = tagged.value.as_sequence().expect("!Select [n, list]");
                        let index = parts[0].as_u64().expect("an index") as usize;
                        let split = parts[1].as_tagged().expect("!Split");
                        let args = split.value.as_sequence().expect("!Split [d, value]");
                        let whole = self.resolve(&args[1]);
                        let delimiter = scalar(&args[0]);
                        whole
                            .split(delimiter.as_str())
                            .nth(index)
                            .unwrap_or_default()
                            .to_string()
                    }
                    "!If" => {
                        let parts = tagged.value.as_sequence().expect("!If [c, a, b]");
                        let branch = if self.condition(parts[0].as_str().expect("name")) {
                            &parts[1]
                        } else {
                            &parts[2]
                        };
                        self.resolve(branch)
                    }
                    other => panic!("intrinsic {other} is not understood by the harness"),
                }
            }
            other => scalar(other),
        }
    }

    fn substitute(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find('}').expect("closing }") + start;
            let name = &rest[start + 2..end];
            out.push_str(&match name.split_once('.') {
                Some((id, attribute)) if !name.starts_with("AWS::") => {
                    self.attribute(id, attribute)
                }
                _ => self.reference(name),
            });
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::StackName" => return self.stack.clone(),
            "AWS::Region" => return REGION.into(),
            "AWS::AccountId" => return ACCOUNT.into(),
            "AWS::Partition" => return "aws".into(),
            "AWS::URLSuffix" => return "amazonaws.com".into(),
            _ => {}
        }
        if let Some(value) = self.parameters.get(name) {
            return value.clone();
        }
        let body = self.resource(name);
        match body["Type"].as_str().unwrap_or_default() {
            "AWS::DynamoDB::Table" => self.table_name(name),
            "AWS::S3::Bucket" => self.resolve(&body["Properties"]["BucketName"]),
            "AWS::SQS::Queue" => format!(
                "{}/{ACCOUNT}/{}",
                crate::moto::endpoint(),
                self.resolve(&body["Properties"]["QueueName"])
            ),
            "AWS::Logs::LogGroup" => self.resolve(&body["Properties"]["LogGroupName"]),
            "AWS::Serverless::Function" => self.resolve(&body["Properties"]["FunctionName"]),
            other => format!("{name}-{other}"),
        }
    }

    fn attribute(&self, id: &str, attribute: &str) -> String {
        let body = self.resource(id);
        match (body["Type"].as_str().unwrap_or_default(), attribute) {
            ("AWS::SQS::Queue", "Arn") => format!(
                "arn:aws:sqs:{REGION}:{ACCOUNT}:{}",
                self.resolve(&body["Properties"]["QueueName"])
            ),
            ("AWS::SQS::Queue", "QueueName") => self.resolve(&body["Properties"]["QueueName"]),
            ("AWS::DynamoDB::Table", "Arn") => format!(
                "arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{}",
                self.table_name(id)
            ),
            ("AWS::S3::Bucket", "Arn") => {
                format!(
                    "arn:aws:s3:::{}",
                    self.resolve(&body["Properties"]["BucketName"])
                )
            }
            (_, "Arn") => format!("arn:aws:{id}"),
            (kind, attribute) => panic!("{kind}.{attribute} is not understood by the harness"),
        }
    }

    /// The table has no `TableName`: CloudFormation names it after the stack, and so do we.
    fn table_name(&self, id: &str) -> String {
        format!("{}-{id}", self.stack)
    }

    /// The functions this stack deploys (a function whose `Condition` is false is not there).
    pub fn functions(&self) -> Vec<FunctionSpec> {
        let globals = &self.root["Globals"]["Function"];
        let mut out = Vec::new();
        for (id, body) in self.resources_of("AWS::Serverless::Function") {
            if let Some(condition) = body.get("Condition").and_then(Value::as_str) {
                if !self.condition(condition) {
                    continue;
                }
            }
            let properties = &body["Properties"];
            let mut environment = BTreeMap::new();
            for variables in [
                &globals["Environment"]["Variables"],
                &properties["Environment"]["Variables"],
            ] {
                if let Some(map) = variables.as_mapping() {
                    for (name, value) in map {
                        environment.insert(name.as_str().unwrap().to_string(), self.resolve(value));
                    }
                }
            }
            let number = |name: &str| {
                properties
                    .get(name)
                    .or_else(|| globals.get(name))
                    .and_then(Value::as_u64)
                    .unwrap_or_else(|| panic!("{id} has no {name}"))
            };
            let mut sqs_sources = Vec::new();
            let mut schedules = Vec::new();
            let mut http_api = false;
            if let Some(events) = properties["Events"].as_mapping() {
                for event in events.values() {
                    let props = &event["Properties"];
                    match event["Type"].as_str().unwrap_or_default() {
                        "SQS" => {
                            let queue = tagged_target(&props["Queue"]);
                            let batch = props["BatchSize"].as_u64().unwrap_or(10) as usize;
                            sqs_sources.push((queue, batch));
                        }
                        "Schedule" | "ScheduleV2" => {
                            schedules.push(scalar(&props["ScheduleExpression"]))
                        }
                        "HttpApi" => http_api = true,
                        other => panic!("{id}: event type {other} is not understood"),
                    }
                }
            }
            out.push(FunctionSpec {
                logical_id: id.to_string(),
                binary: scalar(&body["Metadata"]["BuildProperties"]["Binary"]),
                name: self.resolve(&properties["FunctionName"]),
                environment,
                timeout_secs: number("Timeout"),
                memory_mb: number("MemorySize"),
                sqs_sources,
                schedules,
                http_api,
            });
        }
        out
    }

    /// Every function the template can deploy, whatever the parameters: (logical id, binary).
    pub fn all_binaries(&self) -> Vec<(String, String)> {
        self.resources_of("AWS::Serverless::Function")
            .map(|(id, body)| {
                (
                    id.to_string(),
                    scalar(&body["Metadata"]["BuildProperties"]["Binary"]),
                )
            })
            .collect()
    }

    pub fn function(&self, logical_id: &str) -> FunctionSpec {
        self.functions()
            .into_iter()
            .find(|f| f.logical_id == logical_id)
            .unwrap_or_else(|| panic!("template.yaml has no function {logical_id}"))
    }

    pub fn queues(&self) -> Vec<QueueSpec> {
        self.resources_of("AWS::SQS::Queue")
            .map(|(id, body)| {
                let properties = &body["Properties"];
                let redrive = properties.get("RedrivePolicy").map(|policy| {
                    (
                        tagged_target(&policy["deadLetterTargetArn"]),
                        policy["maxReceiveCount"].as_u64().expect("maxReceiveCount") as u32,
                    )
                });
                QueueSpec {
                    logical_id: id.to_string(),
                    name: self.resolve(&properties["QueueName"]),
                    visibility_timeout: properties["VisibilityTimeout"].as_u64().unwrap_or(30),
                    redrive,
                }
            })
            .collect()
    }

    pub fn queue(&self, logical_id: &str) -> QueueSpec {
        self.queues()
            .into_iter()
            .find(|q| q.logical_id == logical_id)
            .unwrap_or_else(|| panic!("template.yaml has no queue {logical_id}"))
    }

    pub fn table(&self) -> TableSpec {
        let mut tables = self.resources_of("AWS::DynamoDB::Table");
        let (id, body) = tables.next().expect("one table");
        assert!(tables.next().is_none(), "the harness expects one table");
        let properties = &body["Properties"];
        let pairs = |list: &Value, a: &str, b: &str| -> Vec<(String, String)> {
            list.as_sequence()
                .into_iter()
                .flatten()
                .map(|entry| (scalar(&entry[a]), scalar(&entry[b])))
                .collect()
        };
        let ttl = &properties["TimeToLiveSpecification"];
        TableSpec {
            name: self.table_name(id),
            attributes: pairs(
                &properties["AttributeDefinitions"],
                "AttributeName",
                "AttributeType",
            ),
            key_schema: pairs(&properties["KeySchema"], "AttributeName", "KeyType"),
            indexes: properties["GlobalSecondaryIndexes"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|index| {
                    (
                        scalar(&index["IndexName"]),
                        pairs(&index["KeySchema"], "AttributeName", "KeyType"),
                    )
                })
                .collect(),
            ttl_attribute: (ttl["Enabled"].as_bool() == Some(true))
                .then(|| scalar(&ttl["AttributeName"])),
        }
    }

    /// The data bucket: the one whose objects the functions read (`TRICKLE_BUCKET`).
    pub fn data_bucket(&self) -> BucketSpec {
        let (_, body) = self
            .resources_of("AWS::S3::Bucket")
            .find(|(id, _)| {
                self.root["Globals"]["Function"]["Environment"]["Variables"]["TRICKLE_BUCKET"]
                    .as_tagged()
                    .map(|t| t.value.as_str() == Some(*id))
                    .unwrap_or(false)
            })
            .expect("TRICKLE_BUCKET names a bucket of the template");
        let properties = &body["Properties"];
        let queue_notifications = properties["NotificationConfiguration"]["QueueConfigurations"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|config| {
                let prefix = config["Filter"]["S3Key"]["Rules"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .find(|rule| rule["Name"].as_str() == Some("prefix"))
                    .map(|rule| scalar(&rule["Value"]));
                (
                    scalar(&config["Event"]),
                    tagged_target(&config["Queue"]),
                    prefix,
                )
            })
            .collect();
        let expirations = properties["LifecycleConfiguration"]["Rules"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter(|rule| rule.get("ExpirationInDays").is_some())
            .map(|rule| {
                (
                    scalar(&rule["Prefix"]),
                    self.resolve(&rule["ExpirationInDays"]),
                )
            })
            .collect();
        BucketSpec {
            expirations,
            name: self.resolve(&properties["BucketName"]),
            versioned: properties["VersioningConfiguration"]["Status"].as_str() == Some("Enabled"),
            queue_notifications,
        }
    }

    /// Schedule rules that send a fixed input to a queue.
    pub fn queue_rules(&self) -> Vec<RuleSpec> {
        self.resources_of("AWS::Events::Rule")
            .filter_map(|(id, body)| {
                let enabled = body
                    .get("Condition")
                    .map(|c| self.condition(c.as_str().expect("condition name")))
                    .unwrap_or(true);
                let properties = &body["Properties"];
                let target = properties["Targets"].as_sequence()?.first()?;
                Some(RuleSpec {
                    logical_id: id.to_string(),
                    schedule: scalar(&properties["ScheduleExpression"]),
                    queue: tagged_target(&target["Arn"]),
                    input: scalar(&target["Input"]),
                    enabled,
                })
            })
            .collect()
    }

    /// Every SSM secret name the template's parameters document (`SecretsPrefix`).
    pub fn secrets_prefix(&self) -> String {
        self.parameter("SecretsPrefix").to_string()
    }
}

/// `!GetAtt X.Arn` or `!Ref X` → `X`.
fn tagged_target(value: &Value) -> String {
    let tagged = value
        .as_tagged()
        .unwrap_or_else(|| panic!("expected !GetAtt or !Ref, found {value:?}"));
    let target = tagged.value.as_str().expect("a logical id");
    target.split('.').next().unwrap().to_string()
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

trait AsTagged {
    fn as_tagged(&self) -> Option<&serde_yaml::value::TaggedValue>;
}

impl AsTagged for Value {
    fn as_tagged(&self) -> Option<&serde_yaml::value::TaggedValue> {
        match self {
            Value::Tagged(tagged) => Some(tagged),
            _ => None,
        }
    }
}
