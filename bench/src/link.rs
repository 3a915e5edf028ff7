//! A slow, lossy link between a phone and the server, emulated in user space: a TCP proxy on
//! loopback whose two directions each behave like one shared radio channel.
//!
//! - **Rate:** each direction carries `rate` bits per second, shared by every connection (one
//!   radio link), so bytes wait for the channel to be free.
//! - **Latency:** each packet (up to [`PACKET`] bytes) arrives `one_way` after it left.
//! - **Loss:** a packet is lost with probability `loss_percent`; as TCP would, it is sent again after
//!   `rto` (occupying the channel again), and the packets behind it wait (head-of-line).
//! - **Dropped connections:** with probability `cut_percent`, a connection is cut somewhere in its
//!   first 60 kB from the server (an answer is lost mid-body; the phone's library keeps one
//!   connection alive across its round trips).
//!
//! The kernel's own loopback TCP still runs underneath, so this models what the phone's
//! library and the protocol see (time, lost answers, broken connections), not TCP's own
//! congestion control.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rand::{Rng, SeedableRng, rngs::StdRng};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpListener, TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::mpsc,
    time::Instant,
};

/// The largest packet the link carries (a typical TCP segment).
const PACKET: usize = 1_400;

/// The link's behaviour.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Bits per second, each direction.
    pub rate: u64,
    pub one_way: Duration,
    /// Packets lost, in percent.
    pub loss_percent: u32,
    /// How long a lost packet waits before it is sent again.
    pub rto: Duration,
    /// Connections cut, in percent.
    pub cut_percent: u32,
}

/// What crossed the link.
#[derive(Debug, Default)]
pub struct Counters {
    pub connections: AtomicU64,
    pub cut: AtomicU64,
    pub lost_packets: AtomicU64,
    pub up_bytes: AtomicU64,
    pub down_bytes: AtomicU64,
}

/// One direction's channel: when it is next free.
type Channel = Arc<Mutex<Instant>>;

/// A running link in front of `upstream`; it stops when dropped.
pub struct Link {
    pub base: String,
    pub counters: Arc<Counters>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Link {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Link {
    pub async fn start(profile: Profile, upstream: SocketAddr, seed: u64) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let counters = Arc::new(Counters::default());
        let (up, down): (Channel, Channel) = (
            Arc::new(Mutex::new(Instant::now())),
            Arc::new(Mutex::new(Instant::now())),
        );
        let shared = counters.clone();
        let task = tokio::spawn(async move {
            let mut n = 0u64;
            while let Ok((phone, _)) = listener.accept().await {
                n += 1;
                let (up, down, counters) = (up.clone(), down.clone(), shared.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = phone.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    connection(phone, server, profile, (up, down), counters, seed ^ n).await;
                });
            }
        });
        Ok(Self {
            base,
            counters,
            task,
        })
    }
}

/// Carries one connection until either side closes it or the link cuts it.
async fn connection(
    phone: TcpStream,
    server: TcpStream,
    profile: Profile,
    (up, down): (Channel, Channel),
    counters: Arc<Counters>,
    seed: u64,
) {
    counters.connections.fetch_add(1, Ordering::Relaxed);
    let mut rng = StdRng::seed_from_u64(seed);
    let cut_after = rng
        .random_ratio(profile.cut_percent.min(100), 100)
        .then(|| rng.random_range(200..60_000u64));
    let (phone_read, phone_write) = phone.into_split();
    let (server_read, server_write) = server.into_split();
    let uplink = direction(
        phone_read,
        server_write,
        profile,
        up,
        StdRng::seed_from_u64(seed.wrapping_add(1)),
        None,
        counters.clone(),
        true,
    );
    let downlink = direction(
        server_read,
        phone_write,
        profile,
        down,
        StdRng::seed_from_u64(seed.wrapping_add(2)),
        cut_after,
        counters.clone(),
        false,
    );
    tokio::pin!(uplink, downlink);
    // The connection ends with the server's side (or a cut); the phone's side ending first
    // still lets the answer come back.
    let cut = tokio::select! {
        cut = &mut downlink => cut,
        cut = &mut uplink => cut || downlink.await,
    };
    if cut {
        counters.cut.fetch_add(1, Ordering::Relaxed);
    }
}

/// Moves bytes one way, packet by packet, each delivered when the link would deliver it.
/// Returns whether the link cut the connection.
#[allow(clippy::too_many_arguments)]
async fn direction(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    profile: Profile,
    channel: Channel,
    mut rng: StdRng,
    cut_after: Option<u64>,
    counters: Arc<Counters>,
    upward: bool,
) -> bool {
    // A short queue: a sender far ahead of the link waits, as on a real one.
    let (tx, mut rx) = mpsc::channel::<(Instant, Vec<u8>)>(16);
    let lost_packets = counters.clone();
    let reader = async move {
        let mut last = Instant::now();
        let mut buf = vec![0u8; PACKET];
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let lost = rng.random_ratio(profile.loss_percent.min(100), 100);
            if lost {
                lost_packets.lost_packets.fetch_add(1, Ordering::Relaxed);
            }
            let at = deliver_at(&channel, &profile, n, lost).max(last);
            last = at;
            if tx.send((at, buf[..n].to_vec())).await.is_err() {
                return;
            }
        }
    };
    let writer = async move {
        let mut sent = 0u64;
        while let Some((at, bytes)) = rx.recv().await {
            tokio::time::sleep_until(at).await;
            let room = cut_after.map_or(u64::MAX, |c| c.saturating_sub(sent));
            let take = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            if to.write_all(&bytes[..take]).await.is_err() {
                return false;
            }
            sent += take as u64;
            let counter = if upward {
                &counters.up_bytes
            } else {
                &counters.down_bytes
            };
            counter.fetch_add(take as u64, Ordering::Relaxed);
            if take < bytes.len() {
                return true;
            }
        }
        let _ = to.shutdown().await;
        false
    };
    let (_, cut) = tokio::join!(reader, writer);
    cut
}

/// When a packet of `len` bytes leaving now reaches the other end; reserves the channel's
/// airtime for it (twice if it is lost and sent again).
fn deliver_at(channel: &Channel, profile: &Profile, len: usize, lost: bool) -> Instant {
    let airtime = Duration::from_nanos(len as u64 * 8_000_000_000 / profile.rate.max(1));
    let now = Instant::now();
    let mut free = match channel.lock() {
        Ok(free) => free,
        Err(poisoned) => poisoned.into_inner(),
    };
    let start = (*free).max(now);
    *free = start + airtime;
    if lost {
        // Sent, lost, then sent again once the sender's timer fires: the second copy takes
        // airtime too, and arrives a timer later (the packets behind it wait for it).
        *free += airtime;
        start + airtime + profile.rto + airtime + profile.one_way
    } else {
        start + airtime + profile.one_way
    }
}
