package io.quarry.bench;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;

/**
 * The heap a measured stretch of work (one fan-out tick) needs, in this JVM. Before it: a full GC
 * (so every tick starts from the same live set) and the heap pools' peaks reset. After it, two
 * figures: the peak (the sum of the heap pools' peak usage since the reset: live data and garbage
 * not yet collected, an upper bound since pools peak at different moments) and the peak live heap
 * (the largest heap in use right after a collection during the tick, from the collectors' own
 * notifications: what the tick kept reachable, garbage aside). The second does not depend on how
 * much garbage the collector lets pile up before it runs, so it is the one to compare between ticks
 * of different sizes.
 */
final class HeapPeak {

  /** One measured stretch, in bytes. */
  record Usage(long before, long peak, long peakLive, long collections, long maxHeap) {

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "heap before %s, peak %s, peak live (after a GC) %s, %d GCs during the tick, -Xmx %s",
          mb(before),
          mb(peak),
          peakLive < 0 ? "n/a (no GC)" : mb(peakLive),
          collections,
          mb(maxHeap));
    }

    static String mb(long bytes) {
      return String.format(Locale.ROOT, "%.1f MB", bytes / 1048576.0);
    }
  }

  private final List<MemoryPoolMXBean> pools =
      ManagementFactory.getMemoryPoolMXBeans().stream()
          .filter(p -> p.getType() == MemoryType.HEAP)
          .toList();
  private final Set<String> poolNames =
      pools.stream().map(MemoryPoolMXBean::getName).collect(Collectors.toSet());
  private final AtomicLong peakLive = new AtomicLong(-1);
  private final AtomicLong collections = new AtomicLong();
  private volatile boolean measuring;
  private long before;

  HeapPeak() {
    NotificationListener listener = this::collected;
    for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (collector instanceof NotificationEmitter emitter) {
        emitter.addNotificationListener(listener, null, null);
      }
    }
  }

  /** Full GC, peaks reset: the measured stretch begins. */
  void start() {
    System.gc();
    before = used();
    peakLive.set(-1);
    collections.set(0);
    pools.forEach(MemoryPoolMXBean::resetPeakUsage);
    measuring = true;
  }

  Usage stop() {
    measuring = false;
    long peak = pools.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
    return new Usage(
        before, peak, peakLive.get(), collections.get(), Runtime.getRuntime().maxMemory());
  }

  private long used() {
    return pools.stream().mapToLong(p -> p.getUsage().getUsed()).sum();
  }

  private void collected(Notification notification, Object handback) {
    if (!measuring
        || !GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(
            notification.getType())) {
      return;
    }
    GarbageCollectionNotificationInfo info =
        GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
    long after = 0;
    for (Map.Entry<String, MemoryUsage> pool :
        info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
      if (poolNames.contains(pool.getKey())) {
        after += pool.getValue().getUsed();
      }
    }
    collections.incrementAndGet();
    long live = after;
    peakLive.accumulateAndGet(live, Math::max);
  }
}
