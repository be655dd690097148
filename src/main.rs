//! CLI only: parse arguments, build the config, hand off to the library.

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};
use ibkr_cockpit::app::{self, demo::DemoOptions};
use ibkr_cockpit::{mcp, sim, tui};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(
    name = "ibkr-cockpit",
    version,
    about = "Terminal cockpit for an Interactive Brokers portfolio, with a read-only MCP server built in"
)]
struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/ibkr-cockpit/config.toml).
    #[arg(long, global = true, env = "IBKR_COCKPIT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open the cockpit UI against the configured gateway(s) (the default).
    Tui(TuiArgs),
    /// The cockpit against the built-in simulated gateway: no account needed.
    Demo(DemoArgs),
    /// Stdio MCP server (what Claude Code spawns).
    Mcp(McpArgs),
    /// Headless daemon: MCP over HTTP, REST, metrics.
    Serve(ServeArgs),
    /// Call one tool and print its markdown (or JSON).
    Tool(ToolArgs),
    /// Run the simulated IB Gateway alone.
    SimGateway(SimArgs),
    /// Check config, ports, gateway reachability, API version and data permissions.
    Doctor,
    /// Print a shell completion script: `ibkr-cockpit completions bash > ~/.local/share/bash-completion/completions/ibkr-cockpit`.
    Completions(CompletionsArgs),
    /// Print the man page (roff): `ibkr-cockpit man > ~/.local/share/man/man1/ibkr-cockpit.1`.
    Man,
}

#[derive(Args, Debug)]
struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// What MCP clients of this process see; overrides `[mcp] output`, `toolsets`, `tools`.
#[derive(Args, Debug, Clone, Default)]
struct SurfaceArgs {
    /// MCP tool results: markdown (text only; default), structured (structuredContent and
    /// outputSchema, JSON as text) or both. Env IBKR_MCP_OUTPUT.
    #[arg(long, value_name = "MODE")]
    output: Option<String>,
    /// Expose only these tool groups over MCP, comma-separated: account, briefing, portfolio,
    /// market_data, live_data, risk, intelligence, monitoring, orders. Env IBKR_TOOLSETS.
    #[arg(long, value_name = "A,B")]
    toolsets: Option<String>,
    /// Expose these tools by name over MCP, comma-separated (with --toolsets: both). Env
    /// IBKR_TOOLS.
    #[arg(long, value_name = "A,B")]
    tools: Option<String>,
}

#[derive(Args, Debug, Default)]
struct TuiArgs {
    #[command(flatten)]
    surface: SurfaceArgs,
    /// Colour theme: dark (default), light, high-contrast, or a themes/*.toml name.
    #[arg(long)]
    theme: Option<String>,
    /// Attach to a running daemon instead of connecting to the gateway (automatic when one
    /// answers on the socket).
    #[arg(long)]
    attach: bool,
    /// Unix socket: attach to the daemon there, or serve it.
    #[arg(long)]
    socket: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct SimWorld {
    /// Build a book of N symbols instead of the seed book.
    #[arg(long)]
    positions: Option<usize>,
    /// Market seed (deterministic prices).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Fault plan, e.g. "drop@30s,restart@60s,stall@90s:10s,sentinels,nosub=HDRX".
    #[arg(long)]
    faults: Option<String>,
}

#[derive(Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    world: SimWorld,
    #[command(flatten)]
    surface: SurfaceArgs,
    /// Colour theme: dark (default), light, high-contrast, or a themes/*.toml name.
    #[arg(long)]
    theme: Option<String>,
    /// HTTP port of the embedded MCP server on 127.0.0.1 (default: `mcp.http_port`, 8787;
    /// a busy port falls back to a free one, shown in the header).
    #[arg(long)]
    port: Option<u16>,
    /// Unix socket to serve (so `ibkr-cockpit mcp` bridges to this cockpit).
    #[arg(long)]
    socket: Option<PathBuf>,
    /// Print one frame of the cockpit as text, COLSxROWS (e.g. 100x30), and exit: the
    /// README's picture comes from this.
    #[arg(long, value_name = "COLSxROWS", value_parser = parse_size)]
    print_frame: Option<(u16, u16)>,
}

/// `100x30` → (100, 30).
fn parse_size(text: &str) -> Result<(u16, u16), String> {
    let bad = || format!("`{text}` is not a size: write COLSxROWS, e.g. 100x30");
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let w: u16 = w.trim().parse().map_err(|_| bad())?;
    let h: u16 = h.trim().parse().map_err(|_| bad())?;
    if w == 0 || h == 0 || w > 1000 || h > 500 {
        return Err(format!("`{text}`: columns 1–1000 and rows 1–500"));
    }
    Ok((w, h))
}

#[derive(Args, Debug)]
struct McpArgs {
    #[command(flatten)]
    surface: SurfaceArgs,
    /// Use the simulated book (no account needed); never bridges.
    #[arg(long)]
    demo: bool,
    /// Never bridge to a running cockpit; connect to the gateway directly.
    #[arg(long)]
    standalone: bool,
    /// Socket of the cockpit or daemon to bridge to.
    #[arg(long)]
    socket: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    surface: SurfaceArgs,
    /// Serve the simulated book (no account needed).
    #[arg(long)]
    demo: bool,
    /// Address to bind (default 127.0.0.1; anything else requires a token).
    #[arg(long)]
    bind: Option<String>,
    /// HTTP port (default: `mcp.http_port`, 8787).
    #[arg(long)]
    port: Option<u16>,
    /// Unix socket to serve (sidecars bridge to it, UIs attach to it).
    #[arg(long)]
    socket: Option<PathBuf>,
}

/// `--help` is this command's own flag: after a tool name it shows that tool's parameters.
#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
struct ToolArgs {
    /// Tool name, e.g. ibkr_quote.
    name: Option<String>,
    /// Arguments as key=value (lists comma-separated: symbols=KRYX,VLTX); `--help` after the
    /// name shows the tool's parameters.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    args: Vec<String>,
    /// Print the structured JSON instead of markdown.
    #[arg(long)]
    json: bool,
    /// List every tool with a one-line description.
    #[arg(long)]
    list: bool,
    /// Run against the simulated book.
    #[arg(long)]
    demo: bool,
    /// Print help: this command's, or with a tool name that tool's parameters.
    #[arg(short, long, action = ArgAction::SetTrue)]
    help: bool,
}

#[derive(Args, Debug)]
struct SimArgs {
    /// TCP port to listen on (127.0.0.1): 4002 is IB Gateway's paper-trading port.
    #[arg(long, default_value_t = 4002)]
    port: u16,
    /// Serve a second (secondary, USD) account on this port too.
    #[arg(long)]
    secondary_port: Option<u16>,
    /// Play an IB Gateway of this API version (default: the newest, 226). Below 213 clients
    /// are served IB's classic text protocol.
    #[arg(long, default_value_t = sim::SERVER_VERSION, value_parser = clap::value_parser!(i32).range(100..=sim::SERVER_VERSION as i64))]
    server_version: i32,
    /// Freeze prices (no ticks), so answers can be compared with --truth.
    #[arg(long)]
    frozen: bool,
    /// Answer each historical request after this many milliseconds, as IB's HMDS takes a
    /// while (the request counts as open meanwhile). Default 0.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=60_000))]
    historical_latency_ms: u64,
    /// Write the simulated book as JSON to this file once listening.
    #[arg(long)]
    truth: Option<std::path::PathBuf>,
    #[command(flatten)]
    world: SimWorld,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(run(cli));
    // A stdin read may still be parked in a blocking thread (a bridge whose host went away);
    // do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(500));
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn demo_options(world: &SimWorld) -> DemoOptions {
    DemoOptions {
        seed: world.seed,
        positions: world.positions,
        faults: world.faults.clone(),
        ..DemoOptions::default()
    }
}

/// The config file in use, as `doctor` reports it.
fn config_source(flag: Option<&std::path::Path>) -> String {
    let path = flag
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(ibkr_cockpit::config::default_config_path);
    if path.exists() {
        path.display().to_string()
    } else {
        format!(
            "{} (not present: using defaults and environment)",
            path.display()
        )
    }
}

/// How long a one-shot command waits for the first sync before answering from what it has.
const SYNC_WAIT: Duration = Duration::from_secs(10);

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let command = cli.command.unwrap_or(Command::Tui(TuiArgs::default()));
    // Generated from the CLI definition; no config needed.
    match &command {
        Command::Completions(a) => {
            let mut cmd = Cli::command();
            clap_complete::generate(a.shell, &mut cmd, "ibkr-cockpit", &mut std::io::stdout());
            return Ok(ExitCode::SUCCESS);
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            return Ok(ExitCode::SUCCESS);
        }
        Command::Tool(a) if a.help && a.name.is_none() => {
            // What `ibkr-cockpit help tool` prints: the generated help, with the full usage line.
            if let Err(help) = Cli::command().try_get_matches_from(["ibkr-cockpit", "help", "tool"])
            {
                help.print()?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    // The simulator needs no config; everything else starts from it.
    if let Command::SimGateway(a) = &command {
        app::logging::to_stderr();
        sim::run_sim_gateway_cli(sim::SimCli {
            port: a.port,
            secondary_port: a.secondary_port,
            seed: a.world.seed,
            positions: a.world.positions,
            faults: a.world.faults.clone(),
            server_version: a.server_version,
            frozen: a.frozen,
            truth: a.truth.clone(),
            historical_latency: std::time::Duration::from_millis(a.historical_latency_ms),
        })
        .await?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut config = match app::load_config(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            if matches!(command, Command::Doctor) {
                println!("config: {}", config_source(cli.config.as_deref()));
            }
            eprintln!("config error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let surface = match &command {
        Command::Mcp(McpArgs { surface, .. })
        | Command::Serve(ServeArgs { surface, .. })
        | Command::Tui(TuiArgs { surface, .. })
        | Command::Demo(DemoArgs { surface, .. }) => surface.clone(),
        _ => SurfaceArgs::default(),
    };
    let (o, s, t) = (surface.output, surface.toolsets, surface.tools);
    if let Err(e) =
        mcp::Surface::apply_flags(&mut config.mcp, o.as_deref(), s.as_deref(), t.as_deref())
    {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(2));
    }
    match command {
        Command::SimGateway(_) | Command::Completions(_) | Command::Man => {
            unreachable!("handled above")
        }
        Command::Doctor => {
            app::logging::to_stderr();
            let report = app::doctor::run(&config, &config_source(cli.config.as_deref())).await;
            println!("{}", report.text.trim_end());
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Tool(mut a) => {
            app::logging::to_stderr();
            if a.help {
                a.args.push("--help".into());
            }
            // Flags written after the tool's arguments arrive among them (trailing args).
            a.demo |= a.args.iter().any(|w| w == "--demo");
            a.args.retain(|w| w != "--demo");
            let needs_gateway = !a.list
                && a.name.is_some()
                && !a
                    .args
                    .iter()
                    .any(|w| matches!(w.as_str(), "--help" | "-h" | "help"));
            let rt = if !needs_gateway {
                app::offline(config)
            } else if a.demo {
                app::demo::start_demo(
                    config,
                    &DemoOptions {
                        tick_interval: None,
                        ..DemoOptions::default()
                    },
                )
                .await?
            } else {
                app::start_live(config)?
            };
            if needs_gateway {
                rt.wait_synced(SYNC_WAIT).await;
            }
            let code = mcp::run_tool_cli(&rt.ctx, a.name.as_deref(), &a.args, a.json, a.list).await;
            rt.shutdown();
            Ok(code)
        }
        Command::Mcp(a) => {
            app::logging::to_stderr();
            let path = app::daemon::socket_path(&config, a.socket.as_deref());
            // The demo book is its own world: it never bridges.
            let plan = app::daemon::sidecar_plan(&path, a.standalone || a.demo, a.demo).await;
            if let app::daemon::SidecarPlan::Refuse(reason) = &plan {
                eprintln!("ibkr-cockpit mcp: {reason}");
                return Ok(ExitCode::FAILURE);
            }
            if let app::daemon::SidecarPlan::Bridge(path) = plan {
                tracing::info!("bridging stdio to {}", path.display());
                let stream = mcp::socket::connect(&path).await?;
                let surface = mcp::Surface::from_config(&config.mcp).map_err(anyhow::Error::msg)?;
                mcp::surface::bridge_stdio_with_surface(stream, &surface).await?;
                return Ok(ExitCode::SUCCESS);
            }
            let rt = if a.demo {
                app::demo::start_demo(config, &DemoOptions::default()).await?
            } else {
                app::start_live(config)?
            };
            mcp::run_stdio(rt.ctx.clone()).await?;
            rt.shutdown();
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(a) => {
            app::logging::to_stderr();
            let mut config = config;
            if let Some(b) = a.bind {
                config.mcp.bind = b;
            }
            if let Some(p) = a.port {
                config.mcp.http_port = p;
            }
            let bind = app::http_bind(&config)?;
            let socket = app::daemon::socket_path(&config, a.socket.as_deref());
            // Fail before connecting to the gateway if another process owns the socket.
            mcp::socket::prepare_path(&socket).await?;
            let rt = if a.demo {
                app::demo::start_demo(config, &DemoOptions::default()).await?
            } else {
                app::start_live(config)?
            };
            app::daemon::run_daemon(rt, bind, &socket).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo(a) => {
            let mut config = config;
            if let Some(p) = a.port {
                config.mcp.http_port = p;
            }
            if let Some((width, height)) = a.print_frame {
                app::logging::to_stderr();
                let text =
                    app::demo::frame_text(config, &demo_options(&a.world), width, height).await?;
                print!("{text}");
                return Ok(ExitCode::SUCCESS);
            }
            let socket = app::daemon::socket_path(&config, a.socket.as_deref());
            let rt = app::demo::start_demo(config, &demo_options(&a.world)).await?;
            run_cockpit(rt, a.theme, Some("demo".into()), &socket).await
        }
        Command::Tui(a) => {
            let socket = app::daemon::socket_path(&config, a.socket.as_deref());
            let daemon_answers = mcp::socket::probe(&socket).await == mcp::SocketState::Answering;
            if a.attach || daemon_answers {
                return run_attached(config, a.theme, &socket).await;
            }
            let rt = app::start_live(config)?;
            run_cockpit(rt, a.theme, None, &socket).await
        }
    }
}

/// The cockpit UI mirroring a running daemon: no gateway connection of its own; prompt calls
/// run in the daemon. Quitting detaches and leaves the daemon running.
async fn run_attached(
    config: ibkr_cockpit::config::Config,
    theme: Option<String>,
    socket: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let log_path = app::logging::to_file(&ibkr_cockpit::config::data_dir());
    let attached = mcp::attach(std::sync::Arc::new(config), socket)
        .await
        .map_err(|e| e.context("cannot attach (start one with `ibkr-cockpit serve`)"))?;
    let opts = tui::TuiOptions {
        theme,
        log_path,
        mcp_url: Some(format!("attached to {}", socket.display())),
        mode_label: Some("attached".into()),
    };
    let result = tui::run(attached.ctx.clone(), opts).await;
    attached.detach();
    result.map(|_| ExitCode::SUCCESS)
}

/// The cockpit: UI in the foreground, MCP over HTTP on loopback and the Unix socket in the
/// background.
async fn run_cockpit(
    rt: app::Runtime,
    theme: Option<String>,
    mode_label: Option<String>,
    socket: &std::path::Path,
) -> anyhow::Result<ExitCode> {
    let log_path = app::logging::to_file(&ibkr_cockpit::config::data_dir());
    for w in &rt.warnings {
        tracing::warn!("{w}");
    }
    let cancel = CancellationToken::new();
    let bind = app::http_bind(&rt.ctx.config)?;
    // A busy port must not keep the cockpit from opening: fall back to any free port.
    let served = match mcp::serve_http(rt.ctx.clone(), bind, cancel.clone()).await {
        Ok(s) => Some(s),
        Err(_) => mcp::serve_http(
            rt.ctx.clone(),
            std::net::SocketAddr::new(bind.ip(), 0),
            cancel.clone(),
        )
        .await
        .ok(),
    };
    // Sidecars (`ibkr-cockpit mcp`) bridge to this cockpit through the socket.
    let socket_server = app::daemon::serve_socket_or_warn(&rt, socket, &cancel).await;
    rt.spawn_intraday_backfill();
    let mcp_url = served
        .as_ref()
        .map(|(addr, _)| format!("http://{addr}/mcp"));
    let opts = tui::TuiOptions {
        theme,
        log_path,
        mcp_url,
        mode_label,
    };
    let result = tui::run(rt.ctx.clone(), opts).await;
    cancel.cancel();
    if let Some(server) = socket_server {
        // Let the accept loop remove the socket file, so no stale socket is left behind.
        let _ = tokio::time::timeout(Duration::from_secs(1), server.task).await;
    }
    rt.shutdown();
    result.map(|_| ExitCode::SUCCESS)
}
