//! A command (a `run` step, a service, a `ready.run` probe): not empty, its arguments valid
//! templates.

use serde_saphyr::Location;

use super::ctx::{FileCtx, check_template};
use crate::config::model::Command;
use crate::config::raw::RawCommand;

pub fn command(ctx: &mut FileCtx, raw: RawCommand, loc: Location) -> Option<Command> {
    match raw {
        RawCommand::Argv(argv) => {
            if argv.is_empty() {
                ctx.error(
                    loc,
                    "the command is an empty list: give the program and its arguments",
                );
                return None;
            }
            for a in &argv {
                check_template(ctx, loc, a)?;
            }
            Some(Command::Argv(argv))
        }
        RawCommand::Shell(s) => {
            if s.trim().is_empty() {
                ctx.error(loc, "the command is empty");
                return None;
            }
            Some(Command::Shell(s))
        }
    }
}
