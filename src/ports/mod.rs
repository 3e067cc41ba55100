//! The ports: the small traits through which the engine reaches the world
//! (IAM, CloudTrail, Organizations, the scan queue, the audit store, the
//! alert channels, the clock). The engine
//! ([`crate::engine`]) depends on these only; the adapters
//! ([`crate::adapters`]) implement them.

mod channels;
mod clock;
mod iam;
mod organization;
mod queue;
mod store;
mod trail;

pub use channels::{Channels, Delivery, NoChannels};
pub use clock::{Clock, SystemClock};
pub use iam::{
    Accounts, Entity, EntityPolicies, Iam, IamError, PolicyVersion, RoleState, UserState,
};
pub use organization::{NoOrganization, OrgAccount, OrgError, Organization};
pub use queue::{NoQueue, QueueError, ScanJob, ScanQueue};
pub use store::{NoStore, Store, StoreError};
pub use trail::{NoTrail, Trail, TrailError, TrailPage};
