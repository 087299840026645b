//! Integration tests: the real `awscreds` binary against a real IAM emulator (moto), started by
//! `scripts/test`. Each test has its own database; IAM is shared, so each test uses its own role
//! names and looks only at the IAM users of those roles.

mod proxy;
mod state;
mod support;

mod audit;
mod caps;
mod cli;
mod consumers;
mod copy;
mod credtypes;
mod errors;
mod faults;
mod hosts;
mod lease_cmds;
mod leases;
mod monitoring;
mod mounts;
mod paths;
mod quickstart;
mod rootconfig;
mod rotation;
mod seal;
mod snapshots;
mod stores;
mod sweeping;
mod tidy;
mod tls;
