//! `callscope audit log`: the web workspace's audit log (who searched what,
//! opened or played which call, reviewed or appealed what, signed in or
//! out). The records were masked when written; nothing here is in clear.

use crate::cli::{AuditArgs, AuditCommand};
use crate::output::{Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_store::users::AuditFilter;
use callscope_store::workspace::Workspace;

pub(super) fn run(workspace: &Workspace, args: &AuditArgs, output: Output) -> Result<Outcome> {
    let AuditCommand::Log {
        user,
        since,
        action,
        limit,
    } = &args.which;
    let filter = AuditFilter {
        user: user.clone(),
        since: since.as_deref().map(parse_since).transpose()?,
        action: action.clone(),
        limit: *limit,
    };
    let records = workspace.open_existing_store()?.audit_log(&filter)?;
    for record in &records {
        if output.json {
            output.json_line(record);
        } else {
            let when = chrono::DateTime::from_timestamp(record.at, 0)
                .map(|time| time.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_else(|| record.at.to_string());
            let mut line = format!("{when}  {:<12} {:<14}", record.user, record.action);
            if let Some(target) = &record.target {
                line.push_str(&format!(" {target}"));
            }
            if let Some(detail) = &record.detail {
                line.push_str(&format!("  ({detail})"));
            }
            crate::outln!("{}", line.trim_end());
        }
    }
    if records.is_empty() && !output.json {
        crate::errln!("no audit records match");
    }
    Ok(Outcome::ok())
}

/// `--since`: a day (UTC midnight) or an RFC 3339 time, as Unix seconds.
fn parse_since(text: &str) -> Result<i64> {
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(day
            .and_hms_opt(0, 0, 0)
            .map_or(0, |time| time.and_utc().timestamp()));
    }
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|time| time.timestamp())
        .map_err(|_| {
            Error::Usage(format!(
                "--since {text}: write a day (2026-09-01) or a time (2026-09-01T09:00:00+08:00)"
            ))
        })
}
