//! Looking things up from the command line: lists, a contact by phone, the review list and
//! the opt-outs, as aligned tables (or `--json`).

use anyhow::Context;
use serde_json::Value;

use crate::api_client::{encode, table, ApiArgs, ApiClient};

#[derive(clap::Args, Debug)]
pub struct ListsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// A list's members instead (by name or id).
    #[arg(long)]
    pub members: Option<String>,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug)]
pub struct ContactsArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[command(subcommand)]
    pub command: ContactsCommand,
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum ContactsCommand {
    /// The contact with this phone number (any common spelling), or the contacts whose first or
    /// last name starts with the words given.
    Find {
        #[arg(required = true)]
        query: Vec<String>,
    },
}

#[derive(clap::Args, Debug)]
pub struct PageArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    #[arg(long)]
    pub json: bool,
}

fn s(v: &Value, k: &str) -> String {
    match &v[k] {
        Value::String(t) => t.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn print(json: bool, answer: &Value, text: String) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(answer)?);
    } else {
        println!("{text}");
    }
    Ok(())
}

fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

pub async fn lists(args: ListsArgs) -> anyhow::Result<()> {
    let api = ApiClient::new(&args.api)?;
    if let Some(list) = &args.members {
        let id = api.list_id(list).await?;
        let page = api
            .get(&format!("/v1/lists/{id}/members?limit={}", args.limit))
            .await?;
        let rows: Vec<Vec<String>> = items(&page)
            .iter()
            .map(|m| vec![s(m, "position"), s(m, "phone"), s(m, "contact_id")])
            .collect();
        return print(args.json, &page, table(&["#", "phone", "contact"], &rows));
    }
    let page = api.get(&format!("/v1/lists?limit={}", args.limit)).await?;
    let rows: Vec<Vec<String>> = items(&page)
        .iter()
        .map(|l| vec![s(l, "id"), s(l, "member_count"), s(l, "name")])
        .collect();
    let text = if rows.is_empty() {
        "no lists yet: import one with `trickle import <file.csv> --list <name>`".to_string()
    } else {
        table(&["id", "members", "name"], &rows)
    };
    print(args.json, &page, text)
}

pub async fn contacts(args: ContactsArgs) -> anyhow::Result<()> {
    let api = ApiClient::new(&args.api)?;
    match &args.command {
        ContactsCommand::Find { query } => {
            let query = query.join(" ");
            let phone = query
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c));
            let param = if phone { "phone" } else { "name" };
            let found = api
                .get(&format!("/v1/contacts?{param}={}", encode(&query)))
                .await
                .with_context(|| format!("finding {query}"))?;
            let rows: Vec<Vec<String>> = items(&found)
                .iter()
                .map(|c| {
                    let name = [s(c, "first_name"), s(c, "last_name")]
                        .join(" ")
                        .trim()
                        .to_string();
                    vec![s(c, "id"), s(c, "phone"), name, s(c, "email")]
                })
                .collect();
            let text = if rows.is_empty() {
                if phone {
                    format!("no contact has the number {query}")
                } else {
                    format!("no contact's first or last name starts with {query:?}")
                }
            } else {
                table(&["id", "phone", "name", "email"], &rows)
            };
            print(args.json, &found, text)
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ReviewArgs {
    #[command(flatten)]
    pub page: PageArgs,
    /// Release the entry with this id: the contact gets its campaign's message after all.
    #[arg(long, value_name = "ENTRY", conflicts_with = "dismiss")]
    pub release: Option<String>,
    /// Dismiss the entry with this id: the contact stays out of that campaign.
    #[arg(long, value_name = "ENTRY")]
    pub dismiss: Option<String>,
}

pub async fn review(args: ReviewArgs) -> anyhow::Result<()> {
    let api = ApiClient::new(&args.page.api)?;
    if let Some(entry) = &args.release {
        let send = api
            .post(
                &format!("/v1/review/{}/release", encode(entry)),
                &Value::Null,
            )
            .await?;
        println!(
            "released: {} gets the campaign's message (quiet hours and the daily cap still apply)",
            s(&send, "phone")
        );
        return Ok(());
    }
    if let Some(entry) = &args.dismiss {
        api.delete(&format!("/v1/review/{}", encode(entry))).await?;
        println!("dismissed: the contact stays out of that campaign");
        return Ok(());
    }
    let args = args.page;
    let page = api.get(&format!("/v1/review?limit={}", args.limit)).await?;
    let rows: Vec<Vec<String>> = items(&page)
        .iter()
        .map(|r| {
            vec![
                s(r, "id"),
                s(r, "phone"),
                s(r, "reason").replace('_', " "),
                s(r, "campaign_id"),
                s(r, "added_at"),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        "nothing to review".to_string()
    } else {
        table(&["entry", "phone", "reason", "campaign", "added"], &rows)
    };
    print(args.json, &page, text)
}

pub async fn opt_outs(args: PageArgs) -> anyhow::Result<()> {
    let api = ApiClient::new(&args.api)?;
    let page = api
        .get(&format!("/v1/opt-outs?limit={}", args.limit))
        .await?;
    let rows: Vec<Vec<String>> = items(&page)
        .iter()
        .map(|o| {
            vec![
                s(o, "phone"),
                s(o, "status").replace('_', " "),
                s(o, "updated_at"),
            ]
        })
        .collect();
    let text = if rows.is_empty() {
        "no one has opted out".to_string()
    } else {
        table(&["phone", "status", "changed"], &rows)
    };
    print(args.json, &page, text)
}
