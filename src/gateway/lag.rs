//! What a streaming loop does when ibapi says it fell behind its channel.
//!
//! ibapi's async client bounds every streaming subscription (see
//! `connect::DEFAULT_CHANNEL_CAPACITY`): a consumer more than that many frames behind loses the
//! oldest ones and reads one notice with `ibapi::SUBSCRIPTION_LAG_CODE` in their place. Whether
//! that matters depends on the stream. A quote or a P&L figure is replaced by the next tick, so
//! those streams carry on. Positions, account updates and the account summary are a list sent
//! once per subscription: a lost frame there is a position, a market value or a margin figure
//! that never arrives, so those streams are requested again and the full list comes back.

use std::time::Duration;

/// The streams the session reads, by what a lost frame costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Positions,
    AccountUpdates,
    AccountSummary,
    AccountPnl,
    PositionPnl,
    Quote,
}

impl Stream {
    /// How the event log names the stream.
    pub fn label(self) -> &'static str {
        match self {
            Stream::Positions => "positions",
            Stream::AccountUpdates => "account updates",
            Stream::AccountSummary => "account summary",
            Stream::AccountPnl => "account P&L",
            Stream::PositionPnl => "position P&L",
            Stream::Quote => "quotes",
        }
    }
}

/// What to do after a lag notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnLag {
    /// Frames of a one-time list were lost: cancel and request the stream again.
    Rerequest,
    /// Only superseded values were lost: keep reading.
    Continue,
}

pub fn after_lag(stream: Stream) -> OnLag {
    match stream {
        Stream::Positions | Stream::AccountUpdates | Stream::AccountSummary => OnLag::Rerequest,
        Stream::AccountPnl | Stream::PositionPnl | Stream::Quote => OnLag::Continue,
    }
}

/// True for the code of ibapi's "this subscription fell behind" notice.
pub fn is_lag(code: i32) -> bool {
    code == ibapi::SUBSCRIPTION_LAG_CODE
}

/// Pause before the `attempt`-th re-request (1-based). The first waits a little so the rest of
/// the lost burst, already on the wire, drains before the new list starts; later ones back off
/// so a consumer that cannot keep up does not hammer the gateway.
pub fn rerequest_delay(attempt: u32) -> Duration {
    let ms = 250u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(5));
    Duration::from_millis(ms.min(5_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_requested_again_and_ticks_carry_on() {
        assert_eq!(after_lag(Stream::Positions), OnLag::Rerequest);
        assert_eq!(after_lag(Stream::AccountUpdates), OnLag::Rerequest);
        assert_eq!(after_lag(Stream::AccountSummary), OnLag::Rerequest);
        assert_eq!(after_lag(Stream::AccountPnl), OnLag::Continue);
        assert_eq!(after_lag(Stream::PositionPnl), OnLag::Continue);
        assert_eq!(after_lag(Stream::Quote), OnLag::Continue);
    }

    #[test]
    fn only_the_lag_code_is_a_lag() {
        assert!(is_lag(ibapi::SUBSCRIPTION_LAG_CODE));
        // A data-farm status line and a real TWS error are not.
        assert!(!is_lag(2104));
        assert!(!is_lag(200));
    }

    #[test]
    fn re_requests_back_off_and_stay_bounded() {
        assert_eq!(rerequest_delay(1), Duration::from_millis(250));
        assert_eq!(rerequest_delay(2), Duration::from_millis(500));
        assert_eq!(rerequest_delay(3), Duration::from_millis(1_000));
        assert_eq!(rerequest_delay(40), Duration::from_millis(5_000));
        assert_eq!(rerequest_delay(0), Duration::from_millis(250));
    }
}
