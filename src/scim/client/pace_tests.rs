use super::*;

const LONG: Duration = Duration::from_secs(3600);

async fn go(limiter: &Arc<Limiter>) -> Slot {
    let mut patience = LONG;
    match limiter.admit(&mut patience).await {
        Ok(slot) => slot,
        Err(left) => panic!("refused with {left:?} left"),
    }
}

#[tokio::test(start_paused = true)]
async fn ten_requests_at_five_per_second_take_nine_intervals() {
    let limiter = Limiter::new(4, Some(5.0));
    let started = Instant::now();
    for _ in 0..10 {
        go(&limiter).await.answered();
    }
    assert_eq!(started.elapsed(), Duration::from_millis(1800));
}

#[tokio::test(start_paused = true)]
async fn no_more_requests_in_flight_than_allowed() {
    let limiter = Limiter::new(2, None);
    let a = go(&limiter).await;
    let _b = go(&limiter).await;
    let third = go(&limiter);
    tokio::pin!(third);
    assert!(futures::poll!(third.as_mut()).is_pending());
    drop(a);
    let _c = third.await;
}

#[tokio::test(start_paused = true)]
async fn a_429_pauses_every_request_and_slows_down_then_it_speeds_up_again() {
    let limiter = Limiter::new(4, None);
    // A burst the app lets through: 100 answers in one second.
    for _ in 0..100 {
        go(&limiter).await.answered();
        tokio::time::advance(Duration::from_millis(10)).await;
    }
    let refused = go(&limiter).await;
    let in_flight = go(&limiter).await;
    let started = Instant::now();
    assert_eq!(
        refused.rate_limited(Some(Duration::from_secs(9))),
        Duration::from_secs(9)
    );
    // Sent before the slow-down: its 429 extends nothing and halves nothing again.
    assert_eq!(
        in_flight.rate_limited(Some(Duration::from_secs(2))),
        Duration::from_secs(9)
    );
    drop((refused, in_flight));
    let limits = limiter.limits();
    assert_eq!(limits.in_flight, 2);
    // 100 answers in the 1 s before the 429 plus the 9 s it asks: 10 a second.
    let pace = limits.per_second.expect("paced");
    assert!((9.0..=10.5).contains(&pace), "{pace}");
    // Nobody is sent before the announced time.
    go(&limiter).await.answered();
    assert!(started.elapsed() >= Duration::from_secs(9));
    // Each answer raises the limits: back to four in flight and unpaced.
    for _ in 0..400 {
        go(&limiter).await.answered();
    }
    assert_eq!(
        limiter.limits(),
        Limits {
            in_flight: 4,
            per_second: None
        }
    );
}

#[tokio::test(start_paused = true)]
async fn a_configured_rate_is_the_ceiling_it_comes_back_to() {
    let limiter = Limiter::new(4, Some(20.0));
    for _ in 0..20 {
        go(&limiter).await.answered();
    }
    go(&limiter)
        .await
        .rate_limited(Some(Duration::from_secs(1)));
    let slowed = limiter.limits().per_second.expect("paced");
    assert!(slowed <= 14.0, "{slowed}");
    for _ in 0..200 {
        go(&limiter).await.answered();
    }
    assert_eq!(limiter.limits().per_second, Some(20.0));
}

#[tokio::test(start_paused = true)]
async fn a_pause_longer_than_a_request_may_wait_is_refused_at_once() {
    let limiter = Limiter::new(4, None);
    go(&limiter)
        .await
        .rate_limited(Some(Duration::from_secs(120)));
    let mut patience = Duration::from_secs(15);
    let started = Instant::now();
    let left = limiter.admit(&mut patience).await.err();
    assert_eq!(left, Some(Duration::from_secs(120)));
    assert_eq!(started.elapsed(), Duration::ZERO);
    // A shorter one is waited, and taken from the patience.
    tokio::time::advance(Duration::from_secs(110)).await;
    let slot = limiter.admit(&mut patience).await;
    assert!(slot.is_ok());
    assert_eq!(patience, Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_429_naming_no_time_waits_longer_each_time() {
    let limiter = Limiter::new(1, None);
    let mut waits = Vec::new();
    for _ in 0..3 {
        waits.push(go(&limiter).await.rate_limited(None));
    }
    assert_eq!(waits, [1, 2, 4].map(Duration::from_secs).to_vec());
    go(&limiter).await.answered();
    assert_eq!(
        go(&limiter).await.rate_limited(None),
        Duration::from_secs(1)
    );
}
