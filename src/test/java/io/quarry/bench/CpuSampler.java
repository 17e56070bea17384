package io.quarry.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Where the machine's CPU goes during a measured phase, from {@code /proc} (Linux): this JVM (the
 * Quarry context, and the simulated API in the mining benchmark), RabbitMQ ({@code beam.smp}),
 * PostgreSQL (every {@code postgres} process: backends, WAL writer, ...), the rest, and the whole
 * machine's busy and iowait time; and, inside this JVM, the CPU of each group of threads (thread
 * names with their numbers removed). Figures are percent of one core, so a 2-core machine tops out
 * at 200%.
 */
final class CpuSampler {

  /** Linux's USER_HZ: /proc reports CPU times in these ticks. */
  private static final double TICKS_PER_SECOND = 100.0;

  private static final long SELF = ProcessHandle.current().pid();
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  /** CPU counters at one instant. */
  record Snapshot(
      long nanos,
      Map<String, Long> processTicks,
      long machineBusyTicks,
      long machineIowaitTicks,
      Map<Long, Long> threadNanos,
      Map<Long, String> threadNames) {}

  /** The CPU shares between two snapshots. */
  record Shares(
      double seconds,
      Map<String, Double> processPercent,
      double machineBusyPercent,
      double machineIowaitPercent,
      Map<String, Double> threadPercent) {

    double of(String process) {
      return processPercent.getOrDefault(process, 0.0);
    }

    /** E.g. {@code quarry-jvm 120%, postgres 50%, rabbitmq 25%, other 3%; machine busy 198%}. */
    String processLine() {
      StringBuilder line = new StringBuilder();
      processPercent.forEach(
          (name, percent) -> line.append(String.format(Locale.ROOT, "%s %.0f%%, ", name, percent)));
      line.append(
          String.format(
              Locale.ROOT,
              "machine busy %.0f%% of %d00%% (iowait %.0f%%)",
              machineBusyPercent,
              Runtime.getRuntime().availableProcessors(),
              machineIowaitPercent));
      return line.toString();
    }

    /** The busiest thread groups of this JVM, e.g. {@code posts-miner 80%, ...}. */
    String threadLine(int top) {
      StringBuilder line = new StringBuilder();
      threadPercent.entrySet().stream()
          .sorted((a, b) -> Double.compare(b.getValue(), a.getValue()))
          .limit(top)
          .forEach(
              e ->
                  line.append(line.length() == 0 ? "" : ", ")
                      .append(String.format(Locale.ROOT, "%s %.0f%%", e.getKey(), e.getValue())));
      return line.toString();
    }
  }

  private CpuSampler() {}

  static Snapshot take() {
    Map<String, Long> ticks = new LinkedHashMap<>();
    ticks.put("quarry-jvm", 0L);
    ticks.put("postgres", 0L);
    ticks.put("rabbitmq", 0L);
    try (DirectoryStream<Path> processes = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path process : processes) {
        long pid;
        try {
          pid = Long.parseLong(process.getFileName().toString());
        } catch (NumberFormatException e) {
          continue;
        }
        String stat;
        try {
          stat = Files.readString(process.resolve("stat"));
        } catch (IOException | RuntimeException gone) {
          continue; // the process ended meanwhile
        }
        int open = stat.indexOf('(');
        int close = stat.lastIndexOf(')');
        if (open < 0 || close < 0) {
          continue;
        }
        String command = stat.substring(open + 1, close);
        String group =
            pid == SELF
                ? "quarry-jvm"
                : command.equals("postgres")
                    ? "postgres"
                    : command.equals("beam.smp") ? "rabbitmq" : null;
        if (group == null) {
          continue;
        }
        String[] fields = stat.substring(close + 2).split(" ");
        // fields[0] is the state (field 3); utime and stime are fields 14 and 15
        long cpu = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        ticks.merge(group, cpu, Long::sum);
      }
    } catch (IOException e) {
      // not Linux: no process figures
    }
    long busy = 0;
    long iowait = 0;
    try {
      String[] cpu = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      // cpu user nice system idle iowait irq softirq steal
      for (int i = 1; i < Math.min(cpu.length, 9); i++) {
        if (i != 4 && i != 5) {
          busy += Long.parseLong(cpu[i]);
        }
      }
      iowait = Long.parseLong(cpu[5]);
    } catch (IOException | RuntimeException e) {
      // not Linux
    }
    Map<Long, Long> threadNanos = new HashMap<>();
    Map<Long, String> threadNames = new HashMap<>();
    for (var info : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
      if (info == null) {
        continue;
      }
      long nanos = THREADS.getThreadCpuTime(info.getThreadId());
      if (nanos >= 0) {
        threadNanos.put(info.getThreadId(), nanos);
        threadNames.put(info.getThreadId(), info.getThreadName());
      }
    }
    return new Snapshot(System.nanoTime(), ticks, busy, iowait, threadNanos, threadNames);
  }

  static Shares between(Snapshot from, Snapshot to) {
    double seconds = (to.nanos() - from.nanos()) / 1e9;
    Map<String, Double> processes = new LinkedHashMap<>();
    double accounted = 0;
    for (Map.Entry<String, Long> e : to.processTicks().entrySet()) {
      long delta = Math.max(0, e.getValue() - from.processTicks().getOrDefault(e.getKey(), 0L));
      double percent = 100.0 * delta / TICKS_PER_SECOND / seconds;
      processes.put(e.getKey(), percent);
      accounted += percent;
    }
    double busy =
        100.0 * (to.machineBusyTicks() - from.machineBusyTicks()) / TICKS_PER_SECOND / seconds;
    double iowait =
        100.0 * (to.machineIowaitTicks() - from.machineIowaitTicks()) / TICKS_PER_SECOND / seconds;
    processes.put("other", Math.max(0, busy - accounted));
    Map<String, Double> threads = new HashMap<>();
    for (Map.Entry<Long, Long> e : to.threadNanos().entrySet()) {
      long before = from.threadNanos().getOrDefault(e.getKey(), 0L);
      double percent = 100.0 * (e.getValue() - before) / 1e9 / seconds;
      if (percent > 0) {
        threads.merge(group(to.threadNames().get(e.getKey())), percent, Double::sum);
      }
    }
    return new Shares(seconds, processes, busy, iowait, threads);
  }

  /** Thread name without its numbers: {@code platform-sim-12} -> {@code platform-sim-#}. */
  static String group(String threadName) {
    return threadName.replaceAll("\\d+", "#");
  }
}
