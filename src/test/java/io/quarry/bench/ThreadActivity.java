package io.quarry.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * How many threads of this JVM were mining, waiting for the platform API or storing at a time: a
 * background thread looks at every thread's stack every {@code intervalMillis} and counts the
 * threads inside the miner route's steps ({@code ChainLoader}, {@code PageFetcher}, {@code
 * ChainOutcome}; of which those inside {@code PlatformClient.fetch}), inside {@code Subscribers},
 * and the distinct threads seen delivering a message to a listener (amqp-client's consumer pool or
 * a listener container's own threads). The averages show the concurrency Quarry really had,
 * whatever its consumer settings say.
 */
final class ThreadActivity implements AutoCloseable {

  private static final java.util.Set<String> MINER_STEPS =
      java.util.Set.of(
          "io.quarry.mining.ChainLoader",
          "io.quarry.mining.PageFetcher",
          "io.quarry.mining.ChainOutcome");

  /** Average threads busy per sample, and the distinct listener threads seen. */
  record Summary(
      double miners, double fetching, double subscribers, int listenerThreads, int samples) {}

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private final Thread sampler;
  private final Set<Long> listenerThreads = ConcurrentHashMap.newKeySet();
  private volatile boolean running = true;
  private long samples;
  private long miners;
  private long fetching;
  private long subscribers;

  ThreadActivity(long intervalMillis) {
    sampler =
        new Thread(
            () -> {
              while (running) {
                sample();
                try {
                  Thread.sleep(intervalMillis);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "bench-thread-activity");
    sampler.setDaemon(true);
    sampler.start();
  }

  private void sample() {
    int mining = 0;
    int waiting = 0;
    int storing = 0;
    for (ThreadInfo info : THREADS.dumpAllThreads(false, false)) {
      boolean miner = false;
      boolean fetch = false;
      boolean subscriber = false;
      boolean listener = false;
      for (StackTraceElement frame : info.getStackTrace()) {
        String type = frame.getClassName();
        if (MINER_STEPS.contains(type)) {
          miner = true;
        } else if (type.equals("io.quarry.platform.PlatformClient")) {
          fetch = true;
        } else if (type.equals("io.quarry.storage.Subscribers")) {
          subscriber = true;
        } else if (type.startsWith("org.springframework.amqp.rabbit.listener.")
            && frame.getMethodName().equals("executeListener")) {
          listener = true;
        }
      }
      if (listener) {
        listenerThreads.add(info.getThreadId());
      }
      if (miner) {
        mining++;
        if (fetch) {
          waiting++;
        }
      }
      if (subscriber) {
        storing++;
      }
    }
    synchronized (this) {
      samples++;
      miners += mining;
      fetching += waiting;
      subscribers += storing;
    }
  }

  synchronized Summary summary() {
    double n = Math.max(1, samples);
    return new Summary(
        miners / n, fetching / n, subscribers / n, listenerThreads.size(), (int) samples);
  }

  @Override
  public void close() {
    running = false;
    sampler.interrupt();
  }
}
