//! `callscope show`: one call's transcript.

use crate::cli::ShowArgs;
use crate::output::{clock, Outcome, Output};
use callscope_core::error::{Error, Result};
use callscope_store::workspace::Workspace;

pub(super) fn run(workspace: &Workspace, args: &ShowArgs, output: Output) -> Result<Outcome> {
    let store = workspace.open_existing_store()?;
    let call = store
        .get_call(&args.call_id)?
        .ok_or_else(|| Error::UnknownCall(args.call_id.clone()))?;
    // Calls stored before the policy are masked at display time too.
    let redactor = callscope_redact::Redactor::for_display(workspace)?;
    let call = redactor.mask_call(&call);
    if output.json {
        output.json_line(&call);
        return Ok(Outcome::ok());
    }
    let field = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_string());
    crate::outln!("call      {}", call.call_id);
    crate::outln!("started   {}", field(&call.started_at));
    crate::outln!(
        "agent     {}   team {}   queue {}",
        field(&call.agent_id),
        field(&call.team),
        field(&call.queue)
    );
    crate::outln!(
        "duration  {}   segments {}",
        clock(call.effective_duration()),
        call.segments.len()
    );
    for (key, value) in &call.meta {
        crate::outln!("meta      {key} = {value}");
    }
    crate::outln!();
    for (index, segment) in call.segments.iter().enumerate() {
        let label = match segment.role {
            callscope_core::model::Role::Agent => "坐席",
            callscope_core::model::Role::Customer => "客户",
            callscope_core::model::Role::Unknown => "未知",
        };
        crate::outln!(
            "[{index:>3}] {} - {}  {label} {:<8}  {}",
            clock(segment.start),
            clock(segment.end),
            segment.role.as_str(),
            segment.text
        );
    }
    for result in store.qa_results_of(&call.call_id)? {
        let result = redactor.mask_qa_result(&result);
        crate::outln!();
        crate::outln!(
            "QA {}: score {} {}{}",
            result.scorecard,
            result.score,
            if result.passed { "passed" } else { "failed" },
            if result.fatal { " (fatal)" } else { "" }
        );
        for violation in &result.violations {
            crate::outln!(
                "  - {} ({}): -{}",
                violation.name,
                violation.rule_id,
                violation.points
            );
            for evidence in &violation.evidence {
                crate::outln!(
                    "      {} {} 「{}」 matched {}",
                    clock(evidence.start),
                    evidence.role,
                    evidence.text,
                    evidence.matched
                );
            }
        }
    }
    Ok(Outcome::ok())
}
