//! The service-control step (`service: NAME` with `action: start | stop | restart`): the
//! gate's services themselves live in [`crate::services`]; this only finds one by name.

use super::outcome::{Deadline, Failure};
use crate::config::{ServiceAction, Signal};
use crate::runner::gate::ctx::GateCtx;

pub async fn attempt(
    ctx: &mut GateCtx,
    action: ServiceAction,
    service: &str,
    signal: Signal,
    gate_deadline: &Deadline,
) -> Result<(), Failure> {
    let Some(i) = ctx.services.position(service) else {
        return Err(Failure::Error(format!("unknown service `{service}`")));
    };
    let (services, mut host) = ctx.split();
    match action {
        ServiceAction::Start => services.start(i, &mut host, gate_deadline).await,
        ServiceAction::Stop => services.stop(i, signal, &mut host).await,
        ServiceAction::Restart => {
            services.stop(i, signal, &mut host).await?;
            services.start(i, &mut host, gate_deadline).await
        }
    }
}
