package io.quarry.platform.sim;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * A real HTTP server that plays the platform API of docs/architecture.md with deterministic data
 * per user and configurable latency and faults ({@link UserScenario}). Used by tests, benchmarks
 * and the local setup:
 *
 * <pre>
 * java -cp … io.quarry.platform.sim.PlatformSimulator --port 8089 --latency 50ms --pages 5
 * </pre>
 */
public final class PlatformSimulator implements AutoCloseable {

  static final int THREADS = 32;
  static final int DEFAULT_PAGES = 3;

  private final HttpServer server;
  private final ExecutorService executor;
  private final Map<String, UserScenario> users = new ConcurrentHashMap<>();
  private final Map<String, ApiStyle> streamStyles = new ConcurrentHashMap<>();
  private final AtomicLong totalRequests = new AtomicLong();
  private final Set<InetSocketAddress> clientConnections = ConcurrentHashMap.newKeySet();
  private volatile Duration latency = Duration.ZERO;
  private volatile int defaultPages = DEFAULT_PAGES;

  private PlatformSimulator(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /** Starts on the loopback interface; port 0 picks a free port. */
  public static PlatformSimulator start(int port) {
    return start(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
  }

  /** Starts on the given address (e.g. {@code 0.0.0.0} to serve other containers). */
  public static PlatformSimulator start(InetSocketAddress address) {
    AtomicInteger threadNumber = new AtomicInteger();
    ExecutorService executor =
        Executors.newFixedThreadPool(
            THREADS,
            task -> {
              Thread thread = new Thread(task, "platform-sim-" + threadNumber.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    try {
      HttpServer server = HttpServer.create(address, 1024);
      PlatformSimulator simulator = new PlatformSimulator(server, executor);
      server.createContext("/", new SimulatorHandler(simulator));
      server.setExecutor(executor);
      server.start();
      return simulator;
    } catch (IOException e) {
      executor.shutdownNow();
      throw new UncheckedIOException("cannot start the platform simulator on " + address, e);
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The URL clients use; an any-address bind is reached through 127.0.0.1. */
  public URI baseUrl() {
    InetAddress address = server.getAddress().getAddress();
    String host = address.isAnyLocalAddress() ? "127.0.0.1" : address.getHostAddress();
    return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port());
  }

  /** Delay before every answer (default none). */
  public PlatformSimulator latency(Duration latency) {
    if (latency.isNegative()) {
      throw new IllegalArgumentException("latency must not be negative");
    }
    this.latency = latency;
    return this;
  }

  /** Pages of users without their own {@link UserScenario#pages(int)} (default 3). */
  public PlatformSimulator defaultPages(int pages) {
    if (pages < 0) {
      throw new IllegalArgumentException("pages must not be negative");
    }
    this.defaultPages = pages;
    return this;
  }

  /**
   * Serves this stream (the last path segment) in this dialect to every user whose own {@link
   * UserScenario#style} is the standard one, so one simulator can play a different API per stream.
   */
  public PlatformSimulator streamStyle(String stream, ApiStyle style) {
    streamStyles.put(stream, java.util.Objects.requireNonNull(style, "style"));
    return this;
  }

  /** From now on this user's requests need exactly this token; any other gets 401. */
  public PlatformSimulator expectedToken(String userId, String token) {
    user(userId).expectedToken(token);
    return this;
  }

  /**
   * Applies faults written as {@code user=fault} or {@code user=fault+fault} (see {@link
   * UserScenario#fault}), e.g. {@code demo-user-3=unauthorized} or {@code
   * demo-user-7=server-errors:5+pages:12}: all of them, or none when one is wrong.
   *
   * @throws IllegalArgumentException for an entry without {@code user=} or with an unknown fault
   */
  public PlatformSimulator faults(List<String> entries) {
    checkFaults(entries);
    entries.forEach(entry -> applyFault(entry, this::user));
    return this;
  }

  /**
   * Refuses faults {@link #faults} would refuse, before a simulator takes a port for them.
   *
   * @throws IllegalArgumentException for an entry without {@code user=} or with an unknown fault
   */
  public static void checkFaults(List<String> entries) {
    entries.forEach(entry -> applyFault(entry, user -> new UserScenario()));
  }

  private static void applyFault(String entry, Function<String, UserScenario> users) {
    int equals = entry.indexOf('=');
    if (equals <= 0 || equals == entry.length() - 1) {
      throw new IllegalArgumentException(
          "simulator fault '" + entry + "' is not user=fault, e.g. demo-user-3=unauthorized");
    }
    UserScenario user = users.apply(entry.substring(0, equals).trim());
    for (String fault : entry.substring(equals + 1).split("\\+")) {
      user.fault(fault);
    }
  }

  /** The user's scenario, created with defaults on first use. */
  public UserScenario user(String externalId) {
    return users.computeIfAbsent(externalId, id -> new UserScenario());
  }

  /** Requests received for this user, faulty ones included. */
  public int requests(String userId) {
    UserScenario user = users.get(userId);
    return user == null ? 0 : user.requests();
  }

  public long totalRequests() {
    return totalRequests.get();
  }

  /** Client connections that sent requests (distinct remote address and port), since the reset. */
  public int connectionsAccepted() {
    return clientConnections.size();
  }

  /**
   * Forgets every scenario, stream style, token and counter, and restores the default latency and
   * pages.
   */
  public void reset() {
    users.clear();
    streamStyles.clear();
    totalRequests.set(0);
    clientConnections.clear();
    latency = Duration.ZERO;
    defaultPages = DEFAULT_PAGES;
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }

  Duration latency() {
    return latency;
  }

  int defaultPages() {
    return defaultPages;
  }

  /** The dialect of a user's stream: the user's own, else the stream's, else the standard one. */
  ApiStyle styleOf(UserScenario user, String stream) {
    ApiStyle own = user.style();
    return own != ApiStyle.STANDARD ? own : streamStyles.getOrDefault(stream, ApiStyle.STANDARD);
  }

  void counted(InetSocketAddress client) {
    totalRequests.incrementAndGet();
    if (clientConnections.size() < 100_000) { // a long demo run stays bounded
      clientConnections.add(client);
    }
  }

  public static void main(String[] args) throws InterruptedException {
    PlatformSimulator simulator = fromArgs(args);
    Runtime.getRuntime().addShutdownHook(new Thread(simulator::close));
    System.out.println("Platform simulator listening on " + simulator.baseUrl());
    Thread.currentThread().join();
  }

  /**
   * Starts a simulator from {@code --host h --port n --latency 50ms --pages n --fault user=fault}
   * ({@code --fault} repeated as often as needed, see {@link #faults}).
   */
  static PlatformSimulator fromArgs(String... args) {
    String host = "127.0.0.1";
    int port = 8089;
    Duration latency = Duration.ZERO;
    int pages = DEFAULT_PAGES;
    List<String> faults = new ArrayList<>();
    for (int i = 0; i < args.length; i += 2) {
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(args[i] + " needs a value");
      }
      String value = args[i + 1];
      switch (args[i]) {
        case "--host" -> host = value;
        case "--port" -> port = Integer.parseInt(value);
        case "--latency" -> latency = duration(value);
        case "--pages" -> pages = Integer.parseInt(value);
        case "--fault" -> faults.add(value);
        default ->
            throw new IllegalArgumentException(
                "unknown option " + args[i] + "; options: --host --port --latency --pages --fault");
      }
    }
    checkFaults(faults);
    return start(new InetSocketAddress(host, port))
        .latency(latency)
        .defaultPages(pages)
        .faults(faults);
  }

  /** {@code 50ms}, {@code 2s} or ISO-8601 ({@code PT0.05S}). */
  static Duration duration(String text) {
    if (text.endsWith("ms")) {
      return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
    }
    if (text.endsWith("s") && !text.startsWith("P")) {
      return Duration.ofSeconds(Long.parseLong(text.substring(0, text.length() - 1)));
    }
    return Duration.parse(text);
  }
}
