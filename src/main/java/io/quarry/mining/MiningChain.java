package io.quarry.mining;

import com.fasterxml.jackson.databind.JsonNode;
import io.quarry.message.DataBatch;
import io.quarry.message.MiningMessage;
import io.quarry.mining.MiningStateRepository.StopReason;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Where one mining message stands while its pages are fetched (kept as an exchange property): the
 * marker to fetch next, counters, markers seen, the pages fetched (published together when the
 * message ends), and whether and why the chain stops.
 */
public final class MiningChain {

  private final MiningMessage message;
  private final String externalId;
  private final String token;
  private final Set<String> seenBefore;
  private final boolean checkOldData;
  private final Instant chainStartedAt;
  private final int pagesPerMessage;
  private final List<String> fetchedMarkers = new ArrayList<>();
  private final List<DataBatch.PageItems> fetchedPages = new ArrayList<>();
  private String marker;
  private int repeats;
  private long pages;
  private long items;
  private int pagesThisMessage;
  private boolean moreToFetch = true;
  private StopReason stopReason;
  private String stopDetail;
  private Duration delay;

  MiningChain(MiningMessage message, String externalId, String token, List<String> seenMarkers) {
    this(message, externalId, token, seenMarkers, true, Instant.EPOCH, Integer.MAX_VALUE);
  }

  MiningChain(
      MiningMessage message,
      String externalId,
      String token,
      List<String> seenMarkers,
      boolean checkOldData,
      Instant chainStartedAt,
      int pagesPerMessage) {
    this.message = message;
    this.pagesPerMessage = pagesPerMessage;
    this.checkOldData = checkOldData;
    this.chainStartedAt = chainStartedAt;
    this.externalId = externalId;
    this.token = token;
    this.seenBefore = new HashSet<>(seenMarkers);
    this.marker = message.currentMarker();
    this.repeats = message.consecutiveBatchRepeats();
    this.pages = message.pagesMined();
    this.items = message.itemsMined();
  }

  public MiningMessage message() {
    return message;
  }

  public String externalId() {
    return externalId;
  }

  String token() {
    return token;
  }

  /**
   * Whether each page must be checked for data stored by an earlier run (incremental mining's
   * stop); false when no earlier run of this user and stream stored anything.
   */
  boolean checkOldData() {
    return checkOldData;
  }

  /** When the chain began: items stored since are its own, never old data. */
  Instant chainStartedAt() {
    return chainStartedAt;
  }

  public String marker() {
    return marker;
  }

  public long pages() {
    return pages;
  }

  public long items() {
    return items;
  }

  public int pagesThisMessage() {
    return pagesThisMessage;
  }

  public boolean stopped() {
    return stopReason != null;
  }

  public StopReason stopReason() {
    return stopReason;
  }

  public String stopDetail() {
    return stopDetail;
  }

  public Duration delay() {
    return delay;
  }

  /**
   * The miner route's loop condition: the chain goes on and this message has not yet fetched its
   * {@code pages-per-message}.
   */
  public boolean wantsAnotherPage() {
    return moreToFetch() && pagesThisMessage < pagesPerMessage;
  }

  /** Whether the platform asked the chain to wait before its next page (a rate limit). */
  public boolean delayed() {
    return stopReason == null && delay != null;
  }

  /** Whether this message fetched a page with items (its data batch is not empty). */
  public boolean hasFetchedPages() {
    return !fetchedPages.isEmpty();
  }

  public boolean moreToFetch() {
    return moreToFetch && stopReason == null && delay == null;
  }

  List<String> fetchedMarkers() {
    return fetchedMarkers;
  }

  /** The pages with items this message fetched so far, in order: published as one batch. */
  public List<DataBatch.PageItems> fetchedPages() {
    return fetchedPages;
  }

  /** Keeps a fetched page's items for the message's batch (call before {@link #pageFetched}). */
  void keepPage(List<JsonNode> pageItems) {
    if (!pageItems.isEmpty()) {
      fetchedPages.add(new DataBatch.PageItems(pages + 1, pageItems));
    }
  }

  void stop(StopReason reason, String detail) {
    this.stopReason = reason;
    this.stopDetail = detail;
  }

  /** The API asked us to wait: the rest of this message goes out as a delayed continuation. */
  void delayBy(Duration wait) {
    this.delay = wait;
  }

  /**
   * Accounts for a fetched page and decides what comes next (docs/architecture.md): the end of the
   * data, a marker repeated too often, a marker of this run seen again (a cycle), the page limit.
   */
  void pageFetched(int itemCount, String nextMarker, boolean hasMore, int maxPagesPerRun) {
    pages++;
    pagesThisMessage++;
    items += itemCount;
    if (marker != null) {
      fetchedMarkers.add(marker);
    }
    if (!hasMore || nextMarker == null || nextMarker.isEmpty()) {
      stop(StopReason.END_OF_DATA, null);
      return;
    }
    if (nextMarker.equals(marker)) {
      repeats++;
      if (repeats >= message.consecutiveBatchRepeatsLimit()) {
        stop(
            StopReason.MARKER_REPEATED, "marker " + nextMarker + " repeated " + repeats + " times");
        return;
      }
    } else {
      repeats = 0;
      if (seenBefore.contains(nextMarker) || fetchedMarkers.contains(nextMarker)) {
        stop(StopReason.MARKER_CYCLE, "marker " + nextMarker + " came back in the same run");
        return;
      }
    }
    marker = nextMarker;
    if (pages >= maxPagesPerRun) {
      stop(StopReason.MAX_PAGES, "reached " + maxPagesPerRun + " pages in this run");
    }
  }

  /** Called after the last page of this message: the message to publish if the chain goes on. */
  MiningMessage continuation() {
    return message.continueAt(marker, repeats, pages, items);
  }

  void endOfMessage() {
    moreToFetch = false;
  }
}
