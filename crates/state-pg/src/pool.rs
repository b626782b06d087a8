//! A pool of PostgreSQL connections, each owned by its own OS thread.
//!
//! The sync `postgres` client drives its connection on a private tokio
//! runtime and panics when called from inside another runtime, and the
//! state traits are called from `spawn_blocking` threads and, sometimes,
//! straight from async tasks. So no caller ever touches a client: a call
//! becomes a closure sent over a channel to whichever connection thread is
//! free, and the caller waits for the answer on a channel of its own. That
//! works from any thread, tokio worker or not. (`r2d2_postgres` and
//! `deadpool-postgres` hand the client to the caller's thread, which is
//! exactly what must not happen here.)
//!
//! A thread connects lazily and again after its connection broke: the call
//! that saw the break fails with [`StateError::Backend`], the next one gets
//! a fresh connection.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use homeostat_state::{Result, StateError};
use postgres::{Client, NoTls};

use crate::PgOptions;

type Job = Box<dyn FnOnce(Result<&mut Client>) + Send>;

struct Task {
    queued: Instant,
    job: Job,
}

/// The pool; dropping it lets its threads finish their current call and
/// close their connections.
pub(crate) struct Pool {
    tasks: Mutex<Option<Sender<Task>>>,
    /// How long a caller waits for its answer before giving up on it.
    call_timeout: Duration,
}

/// What a connection thread needs to (re)connect.
struct Connector {
    config: postgres::Config,
    statement_timeout: Duration,
    /// `host/db`, for error messages: never the password.
    target: String,
    acquire_timeout: Duration,
}

impl Pool {
    pub(crate) fn start(
        config: postgres::Config,
        options: &PgOptions,
        target: String,
    ) -> Result<Pool> {
        let (tx, rx) = std::sync::mpsc::channel::<Task>();
        let rx = Arc::new(Mutex::new(rx));
        let connector = Arc::new(Connector {
            config,
            statement_timeout: options.statement_timeout,
            target,
            acquire_timeout: options.acquire_timeout,
        });
        for n in 0..options.pool_size.max(1) {
            let rx = rx.clone();
            let connector = connector.clone();
            std::thread::Builder::new()
                .name(format!("state-pg-{n}"))
                .spawn(move || serve(&rx, &connector))
                .map_err(|e| StateError::backend("start a postgres connection thread", e))?;
        }
        // A transaction may run a few statements, each up to the statement
        // timeout; past this the answer is not coming.
        let call_timeout = options.acquire_timeout
            + options.connect_timeout
            + options.statement_timeout * 4
            + Duration::from_secs(5);
        Ok(Pool {
            tasks: Mutex::new(Some(tx)),
            call_timeout,
        })
    }

    /// Runs `f` on a free connection and returns its answer. `op` names
    /// what the call does, for the error when no connection answers.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut Client) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.run_for(op, self.call_timeout, f)
    }

    /// [`Pool::run`] for a call that may take longer than a few statements
    /// (an import of a whole state).
    pub(crate) fn run_for<T: Send + 'static>(
        &self,
        op: &'static str,
        timeout: Duration,
        f: impl FnOnce(&mut Client) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = std::sync::mpsc::sync_channel::<Result<T>>(1);
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(conn.and_then(f));
        });
        let sent = {
            let guard = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
            guard.as_ref().map(|tx| {
                tx.send(Task {
                    queued: Instant::now(),
                    job,
                })
            })
        };
        if !matches!(sent, Some(Ok(()))) {
            return Err(StateError::backend(op, Gone("the postgres pool is closed")));
        }
        wait(&answer, op, timeout)
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the channel ends every thread once it is idle.
        self.tasks.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

fn wait<T>(answer: &Receiver<Result<T>>, op: &'static str, timeout: Duration) -> Result<T> {
    match answer.recv_timeout(timeout) {
        Ok(r) => r,
        Err(RecvTimeoutError::Timeout) => Err(StateError::backend(
            op,
            Gone("no answer from postgres in time"),
        )),
        Err(RecvTimeoutError::Disconnected) => Err(StateError::backend(
            op,
            Gone("the postgres connection thread stopped"),
        )),
    }
}

/// One connection thread: takes calls until the pool is dropped.
fn serve(tasks: &Mutex<Receiver<Task>>, connector: &Connector) {
    let mut client: Option<Client> = None;
    loop {
        let task = {
            let rx = tasks.lock().unwrap_or_else(|p| p.into_inner());
            rx.recv()
        };
        let Ok(task) = task else { return };
        if task.queued.elapsed() > connector.acquire_timeout {
            (task.job)(Err(StateError::backend(
                "wait for a free postgres connection",
                Gone("every connection stayed busy past the acquire timeout"),
            )));
            continue;
        }
        if client.as_ref().is_none_or(Client::is_closed) {
            client = None;
            match connector.connect() {
                Ok(c) => client = Some(c),
                Err(e) => {
                    (task.job)(Err(e));
                    continue;
                }
            }
        }
        if let Some(c) = client.as_mut() {
            // A panicking call must not take the thread with it: its caller
            // sees the reply channel close, the connection (in an unknown
            // state) is dropped, and the thread serves the next call.
            let job = task.job;
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(Ok(c))));
            if ran.is_err() || c.is_closed() {
                client = None;
            }
        }
    }
}

impl Connector {
    fn connect(&self) -> Result<Client> {
        let op = || format!("connect to postgres {}", self.target);
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|e| StateError::backend(op(), e))?;
        let ms = self.statement_timeout.as_millis();
        client
            .batch_execute(&format!("SET statement_timeout = {ms}"))
            .map_err(|e| StateError::backend(op(), e))?;
        Ok(client)
    }
}

/// A pool failure that has no driver error behind it.
#[derive(Debug)]
pub(crate) struct Gone(pub &'static str);

impl std::fmt::Display for Gone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Gone {}
