//! `callscope review assign`: the review queue's sampling plan run from the
//! command line (as `POST /api/reviews/assign` runs it in the web
//! workspace), as the workspace's local admin.

use crate::cli::{ReviewArgs, ReviewCommand};
use crate::output::{Outcome, Output};
use callscope_core::error::Result;
use callscope_server::auth::CurrentUser;
use callscope_server::{AppState, ReviewWindow};
use callscope_store::workspace::Workspace;

pub(super) fn run(workspace: &Workspace, args: &ReviewArgs, output: Output) -> Result<Outcome> {
    let ReviewCommand::Assign { from, to } = &args.which;
    let state = AppState::open(workspace.clone())?;
    let window = ReviewWindow {
        from: from.clone(),
        to: to.clone(),
    };
    let report = callscope_server::assign_plan(&state, &CurrentUser::local_admin(), &window)?;
    if output.json {
        output.json_line(&report);
    } else {
        crate::outln!(
            "review queue: {} of {} scored calls picked by the sampling plan, {} newly assigned to {}",
            report.picked,
            report.candidates,
            report.added,
            report.reviewers.join(", ")
        );
    }
    Ok(Outcome::ok())
}
