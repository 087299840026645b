//! Pacing a sweep's IAM calls to what IAM admits. IAM allows a sustained request rate and
//! answers `Throttling` beyond it; a throttled request did nothing and costs nothing but its
//! round trip, so the fastest sweep keeps asking at about the admitted rate, and never gives a
//! lease up for being throttled.
//!
//! The control is additive-increase, multiplicative-decrease, as TCP's: calls start unpaced
//! (only `--parallel` revocations are in flight at once); on a `Throttling` answer the pacer
//! starts calls no faster than [`CUT`] of the rate IAM admitted over the last second, and each
//! admitted call then raises that rate a little ([`GROWTH`]: about 10% a second at first, more
//! the longer IAM does not throttle), until IAM throttles again. Throttles of calls started before the last cut are the same overshoot and
//! cut nothing more. The throttled call itself waits for its turn at the new rate and is sent
//! again, within the same sweep.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;

use tokio::time::{Duration, Instant};

use crate::cloud::{Attachment, Attempts, Cloud, CloudError, NewUser, StsCredentials, StsRequest};
use crate::model::Credential;

/// After a throttle, the share of the admitted rate that calls start at.
const CUT: f64 = 0.8;
/// Calls per second added to the rate by each admitted call, right after a cut: with r calls a
/// second, the rate grows by r x GROWTH a second, more the longer IAM has not throttled.
const GROWTH: f64 = 0.1;
/// The slowest pace: a call every two seconds.
const MIN_RATE: f64 = 0.5;
/// Answers enough to measure the admitted rate by.
const MIN_SAMPLES: usize = 5;
/// The window over which the admitted rate is measured.
const WINDOW: Duration = Duration::from_secs(1);

/// Paces the IAM calls of one sweep (shared by all its revocations).
pub(super) struct Pacer {
    /// Calls a second; `None` until IAM first throttles.
    rate: Cell<Option<f64>>,
    /// When the next call may start.
    next_start: Cell<Instant>,
    /// When the rate was last cut, and how many times it was.
    last_cut: Cell<Option<Instant>>,
    cuts: Cell<u64>,
    /// When the calls IAM answered (with anything but a throttle) in the last [`WINDOW`] ended.
    admitted: RefCell<VecDeque<Instant>>,
    /// When the calls of the last [`WINDOW`] started.
    sent: RefCell<VecDeque<Instant>>,
    started: Instant,
    /// Throttling answers seen, in all.
    throttles: Cell<u64>,
}

impl Pacer {
    pub(super) fn new() -> Pacer {
        let now = Instant::now();
        Pacer {
            rate: Cell::new(None),
            next_start: Cell::new(now),
            last_cut: Cell::new(None),
            cuts: Cell::new(0),
            admitted: RefCell::new(VecDeque::new()),
            sent: RefCell::new(VecDeque::new()),
            started: now,
            throttles: Cell::new(0),
        }
    }

    /// Throttling answers seen so far.
    pub(super) fn throttles(&self) -> u64 {
        self.throttles.get()
    }

    /// Calls `call` in its turn; a throttled call is sent again in a later turn, until
    /// `give_up_at`: then the throttle is returned, with the number of attempts.
    pub(super) async fn call<T, F, Fut>(
        &self,
        give_up_at: Instant,
        call: F,
    ) -> Result<T, CloudError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, CloudError>>,
    {
        let mut attempts = 0;
        loop {
            self.turn().await;
            let started = Instant::now();
            self.sent.borrow_mut().push_back(started);
            attempts += 1;
            match call().await {
                Err(CloudError::Throttled {
                    message,
                    attempts: tried,
                }) => {
                    self.throttled(started);
                    if Instant::now() >= give_up_at {
                        // Sent once: the client's own count (its retries) says it best.
                        let attempts = if attempts == 1 {
                            tried
                        } else {
                            Attempts(attempts)
                        };
                        return Err(CloudError::Throttled { message, attempts });
                    }
                }
                other => {
                    self.admitted();
                    return other;
                }
            }
        }
    }

    /// Waits until a call may start at the current rate. A turn taken before a cut is taken
    /// again at the new rate: those taken at the old one would all be throttled.
    async fn turn(&self) {
        loop {
            let Some(rate) = self.rate.get() else {
                return;
            };
            let cuts = self.cuts.get();
            let now = Instant::now();
            let slot = self.next_start.get().max(now);
            self.next_start
                .set(slot + Duration::from_secs_f64(1.0 / rate));
            if slot > now {
                tokio::time::sleep_until(slot).await;
            }
            if self.cuts.get() == cuts {
                return;
            }
        }
    }

    /// Calls a second over the last window (or since the sweep began), and how many that was.
    fn per_second(&self, times: &RefCell<VecDeque<Instant>>, now: Instant) -> (f64, usize) {
        let mut times = times.borrow_mut();
        while times.front().is_some_and(|t| now - *t > WINDOW) {
            times.pop_front();
        }
        let span = (now - self.started).min(WINDOW).as_secs_f64().max(0.01);
        (times.len() as f64 / span, times.len())
    }

    fn admitted(&self) {
        let now = Instant::now();
        self.admitted.borrow_mut().push_back(now);
        if let Some(rate) = self.rate.get() {
            // Faster the longer IAM has not throttled (as CUBIC does), so that a cut too deep
            // is soon made good. But not far past what IAM is seen to admit: a rate that no call
            // tests would grow without bound and overshoot when it comes to matter.
            let calm = self
                .last_cut
                .get()
                .map_or(0.0, |cut| (now - cut).as_secs_f64());
            let (admitted, _) = self.per_second(&self.admitted, now);
            let ceiling = (2.0 * admitted).max(rate);
            self.rate
                .set(Some((rate + GROWTH * (1.0 + calm)).min(ceiling)));
        }
    }

    fn throttled(&self, started: Instant) {
        self.throttles.set(self.throttles.get() + 1);
        if self.last_cut.get().is_some_and(|cut| started < cut) {
            return; // sent before the last cut: that cut answered it already
        }
        let now = Instant::now();
        // What IAM admits, once there is enough to go by; until then, what was sent (at the
        // very start, calls are throttled before any is answered).
        let (admitted, answers) = self.per_second(&self.admitted, now);
        let (sent, _) = self.per_second(&self.sent, now);
        let measured = if answers >= MIN_SAMPLES {
            admitted
        } else {
            sent
        };
        let base = self.rate.get().map_or(measured, |r| r.min(measured));
        let rate = (CUT * base).max(MIN_RATE);
        self.rate.set(Some(rate));
        self.last_cut.set(Some(now));
        self.cuts.set(self.cuts.get() + 1);
        // Turns are taken again from here, the first one interval on.
        self.next_start
            .set(now + Duration::from_secs_f64(1.0 / rate));
    }
}

/// A revocation's view of the cloud: the calls that deleting a user makes go through the
/// sweep's [`Pacer`], and it notes when DeleteUser is sent (see `sweep.rs`, `revoke_within`).
pub(super) struct Paced<'a, T: ?Sized> {
    pub cloud: &'a T,
    pub pacer: &'a Pacer,
    /// Throttled calls are sent again until then.
    pub give_up_at: Instant,
    /// Set when DeleteUser is sent.
    pub deleting: &'a Cell<bool>,
}

impl<T: Cloud + ?Sized> Cloud for Paced<'_, T> {
    async fn create_user(&self, user: &NewUser<'_>) -> crate::cloud::Result<()> {
        self.cloud.create_user(user).await
    }
    async fn put_user_policy(
        &self,
        user: &str,
        policy_name: &str,
        document: &str,
    ) -> crate::cloud::Result<()> {
        self.cloud
            .put_user_policy(user, policy_name, document)
            .await
    }
    async fn create_access_key(&self, user: &str) -> crate::cloud::Result<crate::cloud::AccessKey> {
        self.cloud.create_access_key(user).await
    }
    async fn attach(&self, user: &str, kind: Attachment, id: &str) -> crate::cloud::Result<()> {
        self.cloud.attach(user, kind, id).await
    }
    async fn list(&self, user: &str, kind: Attachment) -> crate::cloud::Result<Vec<String>> {
        let call = || self.cloud.list(user, kind);
        self.pacer.call(self.give_up_at, call).await
    }
    async fn remove(&self, user: &str, kind: Attachment, id: &str) -> crate::cloud::Result<()> {
        let call = || self.cloud.remove(user, kind, id);
        self.pacer.call(self.give_up_at, call).await
    }
    async fn delete_login_profile(&self, user: &str) -> crate::cloud::Result<()> {
        let call = || self.cloud.delete_login_profile(user);
        self.pacer.call(self.give_up_at, call).await
    }
    async fn delete_user(&self, user: &str) -> crate::cloud::Result<()> {
        let call = || {
            self.deleting.set(true);
            self.cloud.delete_user(user)
        };
        self.pacer.call(self.give_up_at, call).await
    }
    async fn list_users(&self, path_prefix: &str) -> crate::cloud::Result<Vec<String>> {
        self.cloud.list_users(path_prefix).await
    }
    async fn user_tags(&self, user: &str) -> crate::cloud::Result<Vec<(String, String)>> {
        self.cloud.user_tags(user).await
    }
    async fn group_policies(
        &self,
        group: &str,
    ) -> crate::cloud::Result<(Vec<String>, Vec<String>)> {
        self.cloud.group_policies(group).await
    }
    async fn caller_user_name(&self) -> crate::cloud::Result<String> {
        self.cloud.caller_user_name().await
    }
    async fn sts(&self, request: &StsRequest<'_>) -> crate::cloud::Result<StsCredentials> {
        self.cloud.sts(request).await
    }
    async fn caller_with(&self, credential: &Credential) -> crate::cloud::Result<String> {
        self.cloud.caller_with(credential).await
    }
    fn retry_throttling(&self, retry: bool) {
        self.cloud.retry_throttling(retry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> CloudError {
        CloudError::Throttled {
            message: "Rate exceeded".into(),
            attempts: Attempts(1),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_call_is_sent_again_and_the_pace_slows() {
        let pacer = Pacer::new();
        let answers = RefCell::new(vec![Ok(()), Err(throttle()), Err(throttle())]);
        let sent = Cell::new(0);
        let result = pacer
            .call(Instant::now() + Duration::from_secs(60), || {
                sent.set(sent.get() + 1);
                let answer = answers.borrow_mut().pop().unwrap();
                async move { answer }
            })
            .await;
        assert_eq!(result, Ok(()));
        assert_eq!(sent.get(), 3);
        assert_eq!(pacer.throttles(), 2);
        assert!(pacer.rate.get().is_some(), "paced after a throttle");
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_past_the_limit_is_returned_with_its_attempts() {
        let pacer = Pacer::new();
        let give_up_at = Instant::now() + Duration::from_secs(5);
        let result: Result<(), _> = pacer.call(give_up_at, || async { Err(throttle()) }).await;
        match result {
            Err(CloudError::Throttled { attempts, .. }) => assert!(attempts.0 > 1),
            other => panic!("{other:?}"),
        }
        assert!(Instant::now() >= give_up_at);
    }

    #[tokio::test(start_paused = true)]
    async fn the_rate_is_cut_to_what_iam_admits_and_grows_back() {
        let pacer = Pacer::new();
        // 20 calls admitted over one second, then a throttle.
        for _ in 0..20 {
            tokio::time::advance(Duration::from_millis(50)).await;
            pacer.admitted();
        }
        pacer.throttled(Instant::now());
        let cut = pacer.rate.get().unwrap();
        assert!((15.0..=17.0).contains(&cut), "{cut}");
        // A throttle of a call sent before the cut cuts nothing more.
        pacer.throttled(Instant::now() - Duration::from_millis(10));
        assert_eq!(pacer.rate.get(), Some(cut));
        pacer.admitted();
        assert!(pacer.rate.get().unwrap() > cut);
    }
}
