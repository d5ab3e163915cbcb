//! `trickle campaign …`: create, list, show, activate, pause, resume, run and stats over the
//! admin API.

use std::path::PathBuf;

use anyhow::Context;
use serde_json::{json, Map, Value};

use crate::api_client::{ApiArgs, ApiClient};

#[derive(clap::Args, Debug)]
pub struct CampaignArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Print the API's JSON answer instead of a summary.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CampaignCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum CampaignCommand {
    /// Create a draft campaign from flags or from a JSON file (the API's body; flags override).
    Create(Box<CreateArgs>),
    /// List campaigns, newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one campaign.
    Show { id: String },
    /// Check and start a draft campaign.
    Activate { id: String },
    /// Pause an active campaign (queued sends are held).
    Pause { id: String },
    /// Resume a paused campaign at its next scheduled time.
    Resume { id: String },
    /// Plan the next batch now, within every rule.
    Run { id: String },
    /// Planned, sent, delivered, failed, replies, opt-outs, and the A/B test.
    Stats { id: String },
    /// Change a draft or paused campaign: the flags (or a JSON file) say what changes.
    Edit {
        id: String,
        #[command(flatten)]
        changes: Box<CreateArgs>,
    },
    /// A message as a contact would receive it, with its size in segments.
    Preview {
        /// The message; tokens like {{first_name|there}}.
        #[arg(long)]
        message: String,
        /// Render it for this contact (`ct_…`); sample values otherwise.
        #[arg(long)]
        contact: Option<String>,
        #[arg(long = "business-name")]
        business_name: Option<String>,
    },
    /// A campaign's sends with their state and why they wait or failed.
    Sends {
        id: String,
        /// Only sends in this state (planned, sending, sent, delivered, failed, unknown).
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

#[derive(clap::Args, Debug, Default)]
pub struct CreateArgs {
    /// A JSON file holding the campaign (the body of POST /v1/campaigns).
    #[arg(long)]
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub name: Option<String>,
    /// Message A; tokens like {{first_name|there}}.
    #[arg(long = "message-a", alias = "message")]
    pub message_a: Option<String>,
    #[arg(long = "message-b")]
    pub message_b: Option<String>,
    /// The list id (`ls_…`) of a completed list.
    #[arg(long = "list")]
    pub list_id: Option<String>,
    /// Days of the week, comma separated: mon,wed,fri.
    #[arg(long, value_delimiter = ',')]
    pub days: Vec<String>,
    /// Daily send time, HH:MM (24-hour).
    #[arg(long = "time")]
    pub send_time: Option<String>,
    /// IANA time zone of the schedule, e.g. America/New_York.
    #[arg(long = "zone")]
    pub time_zone: Option<String>,
    /// Messages per run.
    #[arg(long = "per-run")]
    pub per_run: Option<u32>,
    /// The OpenPhone number that sends (E.164).
    #[arg(long)]
    pub sender: Option<String>,
    #[arg(long = "business-name")]
    pub business_name: Option<String>,
    #[arg(long = "opt-out-footer")]
    pub opt_out_footer: Option<String>,
    /// Percentage of the list that gets message A (with a message B).
    #[arg(long = "split")]
    pub split_percent: Option<u8>,
    #[arg(long = "min-days-since-contact")]
    pub min_days_since_contact: Option<u32>,
}

pub async fn run(args: CampaignArgs) -> anyhow::Result<()> {
    let api = ApiClient::new(&args.api)?;
    let (answer, summary): (Value, fn(&Value) -> String) = match &args.command {
        CampaignCommand::Create(create) => (
            api.post(
                "/v1/campaigns",
                &with_list_id(&api, create_body(create)?).await?,
            )
            .await?,
            line,
        ),
        CampaignCommand::Edit { id, changes } => (
            api.patch(
                &path(id, "")?,
                &with_list_id(&api, create_body(changes)?).await?,
            )
            .await?,
            details,
        ),
        CampaignCommand::Preview {
            message,
            contact,
            business_name,
        } => (
            api.post(
                "/v1/campaigns/preview",
                &json!({"message": message, "contact_id": contact, "business_name": business_name}),
            )
            .await?,
            preview,
        ),
        CampaignCommand::Sends { id, state, limit } => {
            let mut page = api
                .get(&format!("{}?limit={limit}", path(id, "/sends")?))
                .await?;
            if let (Some(wanted), Some(items)) = (state, page["items"].as_array_mut()) {
                items.retain(|s| {
                    s["state"]
                        .as_str()
                        .is_some_and(|x| x.eq_ignore_ascii_case(wanted))
                });
            }
            (page, sends)
        }
        CampaignCommand::List { limit } => (
            api.get(&format!("/v1/campaigns?limit={limit}")).await?,
            listing,
        ),
        CampaignCommand::Show { id } => (api.get(&path(id, "")?).await?, details),
        CampaignCommand::Activate { id } => {
            (api.post(&path(id, "/activate")?, &json!({})).await?, line)
        }
        CampaignCommand::Pause { id } => (api.post(&path(id, "/pause")?, &json!({})).await?, line),
        CampaignCommand::Resume { id } => {
            (api.post(&path(id, "/resume")?, &json!({})).await?, line)
        }
        CampaignCommand::Run { id } => {
            (api.post(&path(id, "/run")?, &json!({})).await?, run_report)
        }
        CampaignCommand::Stats { id } => (api.get(&path(id, "/stats")?).await?, stats),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        println!("{}", summary(&answer));
    }
    Ok(())
}

fn path(id: &str, action: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
        "{id:?} is not a campaign id (cp_…)"
    );
    Ok(format!("/v1/campaigns/{id}{action}"))
}

/// The file's JSON (if any) with every given flag laid over it.
pub fn create_body(args: &CreateArgs) -> anyhow::Result<Value> {
    let mut body = match &args.file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            serde_json::from_str::<Map<String, Value>>(&text)
                .with_context(|| format!("{} is not a JSON object", file.display()))?
        }
        None => Map::new(),
    };
    let mut set = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            body.insert(k.to_string(), v);
        }
    };
    set("name", args.name.clone().map(Value::from));
    set("message_a", args.message_a.clone().map(Value::from));
    set("message_b", args.message_b.clone().map(Value::from));
    set("list_id", args.list_id.clone().map(Value::from));
    set("per_run", args.per_run.map(Value::from));
    set("sender", args.sender.clone().map(Value::from));
    set("business_name", args.business_name.clone().map(Value::from));
    set(
        "opt_out_footer",
        args.opt_out_footer.clone().map(Value::from),
    );
    set("split_percent", args.split_percent.map(Value::from));
    set(
        "min_days_since_contact",
        args.min_days_since_contact.map(Value::from),
    );
    let mut schedule = body
        .get("schedule")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if !args.days.is_empty() {
        schedule.insert("days".into(), json!(args.days));
    }
    if let Some(t) = &args.send_time {
        schedule.insert("send_time".into(), json!(t));
    }
    if let Some(z) = &args.time_zone {
        schedule.insert("time_zone".into(), json!(z));
    }
    if !schedule.is_empty() {
        body.insert("schedule".into(), Value::Object(schedule));
    }
    Ok(Value::Object(body))
}

/// `list_id` given as a list's name becomes its id.
async fn with_list_id(api: &ApiClient, mut body: Value) -> anyhow::Result<Value> {
    if let Some(given) = body["list_id"].as_str().map(str::to_string) {
        body["list_id"] = json!(api.list_id(&given).await?);
    }
    Ok(body)
}

fn preview(p: &Value) -> String {
    let mut out = vec![
        text(p, "text").to_string(),
        format!(
            "{} characters · {} segment(s) · {}",
            p["characters"],
            p["segments"],
            text(p, "encoding")
        ),
    ];
    if let Some(missing) = p["unresolved_tokens"].as_array().filter(|m| !m.is_empty()) {
        let names: Vec<String> = missing
            .iter()
            .filter_map(Value::as_str)
            .map(|t| match p["did_you_mean"][t].as_str() {
                Some(meant) => format!("{t} (did you mean {meant}?)"),
                None => t.to_string(),
            })
            .collect();
        out.push(format!(
            "no value (and no fallback) for: {}",
            names.join(", ")
        ));
    }
    out.join("\n")
}

fn sends(page: &Value) -> String {
    let items = page["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return "no sends".into();
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|s| {
            vec![
                text(s, "phone").to_string(),
                text(s, "variant").to_string(),
                text(s, "state").to_lowercase(),
                s["error"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    crate::api_client::table(&["phone", "variant", "state", "error"], &rows)
}

fn text<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or("-")
}

fn line(c: &Value) -> String {
    format!(
        "{}  {}  {}",
        text(c, "id"),
        text(c, "state"),
        text(c, "name")
    )
}

fn listing(page: &Value) -> String {
    let items = page["items"].as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        return "no campaigns".into();
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|c| {
            vec![
                text(c, "id").to_string(),
                text(c, "state").to_string(),
                text(c, "name").to_string(),
            ]
        })
        .collect();
    crate::api_client::table(&["id", "state", "name"], &rows)
}

fn details(c: &Value) -> String {
    let s = &c["schedule"];
    let days = s["days"]
        .as_array()
        .map(|d| {
            d.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let mut out = vec![
        line(c),
        format!("list       {}", text(c, "list_id")),
        format!("sender     {}", text(c, "sender")),
        format!(
            "schedule   {days} at {} ({}), {} per run",
            text(s, "send_time"),
            text(s, "time_zone"),
            c["per_run"]
        ),
        format!("message A  {}", text(c, "message_a")),
    ];
    if let Some(b) = c["message_b"].as_str() {
        out.push(format!("message B  {b} (A gets {}%)", c["split_percent"]));
    }
    out.push(format!("cursor     {}", c["cursor"]));
    if let Some(next) = c["next_run_at"].as_str() {
        out.push(format!("next run   {next}"));
    }
    out.join("\n")
}

fn run_report(r: &Value) -> String {
    format!(
        "planned {} · skipped {} · to review {}",
        r["planned"], r["skipped"], r["reviewed"]
    )
}

fn stats(s: &Value) -> String {
    const ROWS: [&str; 8] = [
        "planned",
        "pending",
        "sent",
        "delivered",
        "failed",
        "unknown",
        "replied",
        "opted_out",
    ];
    let has_b = s["b"].is_object();
    let mut out = vec![format!(
        "{:<10} {:>8} {:>8}{}",
        "",
        "total",
        "A",
        if has_b {
            format!(" {:>8}", "B")
        } else {
            String::new()
        }
    )];
    for row in ROWS {
        let mut l = format!("{row:<10} {:>8} {:>8}", s["total"][row], s["a"][row]);
        if has_b {
            l.push_str(&format!(" {:>8}", s["b"][row]));
        }
        out.push(l);
    }
    // Reply rate with its 95% interval, per column.
    let rate = |r: &Value| match r["reply"]["rate"].as_f64() {
        Some(rate) => format!(
            "{:.1}% ({:.1}–{:.1}%)",
            rate * 100.0,
            r["reply"]["low"].as_f64().unwrap_or(0.0) * 100.0,
            r["reply"]["high"].as_f64().unwrap_or(0.0) * 100.0
        ),
        None => "–".into(),
    };
    let mut line = format!(
        "reply rate: total {} · A {}",
        rate(&s["rates"]["total"]),
        rate(&s["rates"]["a"])
    );
    if has_b {
        line.push_str(&format!(" · B {}", rate(&s["rates"]["b"])));
    }
    out.push(line);
    match &s["reply_test"] {
        Value::Object(t) => out.push(format!(
            "reply rate A vs B: p = {:.4} → {}",
            t["p_value"].as_f64().unwrap_or(f64::NAN),
            t["winner"]
                .as_str()
                .map(|w| format!("{w} wins at 95%"))
                .unwrap_or_else(|| "no winner yet at 95%".into())
        )),
        _ if has_b => out.push("reply rate A vs B: not enough data yet".into()),
        _ => {}
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_lay_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.json");
        std::fs::write(
            &file,
            r#"{"name": "From file", "per_run": 5, "schedule": {"days": ["mon"], "send_time": "09:00", "time_zone": "America/Chicago"}}"#,
        )
        .unwrap();
        let body = create_body(&CreateArgs {
            file: Some(file),
            name: Some("From flags".into()),
            send_time: Some("10:30".into()),
            ..CreateArgs::default()
        })
        .unwrap();
        assert_eq!(body["name"], "From flags");
        assert_eq!(body["per_run"], 5);
        assert_eq!(
            body["schedule"],
            json!({"days": ["mon"], "send_time": "10:30", "time_zone": "America/Chicago"})
        );
        assert!(path("../x", "").is_err());
    }
}
