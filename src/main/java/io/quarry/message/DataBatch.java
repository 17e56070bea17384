package io.quarry.message;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * The pages of a user's items that one mining message fetched, as they travel to the data topic (or
 * the parser first): one message per mining message, not per page.
 *
 * <p>JSON, two versions, both read:
 *
 * <pre>
 * version 2 (written): { "version": 2, "batchId": "&lt;run&gt;:&lt;user&gt;:&lt;stream&gt;:&lt;first&gt;-&lt;last&gt;",
 *   "stream": "posts", "userId": 42, "runId": "&lt;uuid&gt;",
 *   "pages": [ { "page": 1, "items": [ ... ] }, { "page": 2, "items": [ ... ] } ] }
 * version 1 (one page, still read): { "version": 1, "batchId": "&lt;run&gt;:&lt;user&gt;:&lt;stream&gt;:&lt;page&gt;",
 *   "stream": ..., "userId": ..., "runId": ..., "page": 1, "items": [ ... ] }
 * </pre>
 *
 * A version 1 message is read as a batch of its one page. A batch of one page keeps the version 1
 * id ({@code run:user:stream:page}); a batch of several pages is named by its first and last page.
 *
 * <p>The batch id only names the message (AMQP message id, logs): a mining message redelivered may
 * regroup its pages differently (a 429 or a stop cut the first attempt at another page). What
 * subscribers deduplicate by is each page's deterministic id, {@link #pageId(long)} = {@code
 * run:user:stream:page}, the id a version 1 batch had.
 *
 * <p>{@code "earlierItems": false} (version 2, optional) says that no earlier run stored items of
 * this user's stream, so none of the batch's items can be stored yet except by a redelivery within
 * this run: raw storage then inserts them without looking each up first. Absent, it reads as true
 * (look every item up), the safe side.
 *
 * @param pages the pages in the order fetched, each with its number in the run (1-based) and its
 *     items
 * @param earlierItems whether an earlier run may have stored items of this user's stream
 */
public record DataBatch(
    int version,
    String batchId,
    String stream,
    long userId,
    UUID runId,
    List<PageItems> pages,
    boolean earlierItems) {

  /** The version written. */
  public static final int VERSION = 2;

  /** One page of the batch: its number in the user's run and its items. */
  public record PageItems(long page, List<JsonNode> items) {

    public PageItems withItems(List<JsonNode> replaced) {
      return new PageItems(page, replaced);
    }
  }

  /** Reads both versions: version 1 carries {@code page} and {@code items} instead of pages. */
  @JsonCreator
  static DataBatch fromJson(
      @JsonProperty("version") int version,
      @JsonProperty("batchId") String batchId,
      @JsonProperty("stream") String stream,
      @JsonProperty("userId") long userId,
      @JsonProperty("runId") UUID runId,
      @JsonProperty("pages") List<PageItems> pages,
      @JsonProperty("page") Long page,
      @JsonProperty("items") List<JsonNode> items,
      @JsonProperty("earlierItems") Boolean earlierItems) {
    if (version == 1 && pages == null && items != null) {
      pages = List.of(new PageItems(page == null ? 0 : page, items));
    }
    return new DataBatch(
        version, batchId, stream, userId, runId, pages, !Boolean.FALSE.equals(earlierItems));
  }

  /** A batch of one page (as a mining message that fetched one page publishes it). */
  public static DataBatch of(
      String stream, long userId, UUID runId, long page, List<JsonNode> items) {
    return of(stream, userId, runId, List.of(new PageItems(page, items)));
  }

  /** A batch of the pages a mining message fetched, in order, whose items may be stored already. */
  public static DataBatch of(String stream, long userId, UUID runId, List<PageItems> pages) {
    return of(stream, userId, runId, pages, true);
  }

  /**
   * A batch of the pages a mining message fetched, in order; {@code earlierItems} false when no
   * earlier run of the user's stream stored items.
   */
  public static DataBatch of(
      String stream, long userId, UUID runId, List<PageItems> pages, boolean earlierItems) {
    if (pages.isEmpty()) {
      throw new IllegalArgumentException("a data batch needs at least one page");
    }
    long first = pages.get(0).page();
    long last = pages.get(pages.size() - 1).page();
    String id = pageId(runId, userId, stream, first) + (first == last ? "" : "-" + last);
    return new DataBatch(VERSION, id, stream, userId, runId, List.copyOf(pages), earlierItems);
  }

  /** The deterministic id of one page of a user's run: {@code run:user:stream:page}. */
  public static String pageId(UUID runId, long userId, String stream, long page) {
    return runId + ":" + userId + ":" + stream + ":" + page;
  }

  /** The deterministic id of one of this batch's pages. */
  public String pageId(long page) {
    return pageId(runId, userId, stream, page);
  }

  /** Every item of every page, in order. */
  @JsonIgnore
  public List<JsonNode> items() {
    if (pages.size() == 1) {
      return pages.get(0).items();
    }
    List<JsonNode> all = new ArrayList<>(itemCount());
    for (PageItems page : pages) {
      all.addAll(page.items());
    }
    return all;
  }

  /** How many items the batch holds over all its pages. */
  @JsonIgnore
  public int itemCount() {
    int count = 0;
    for (PageItems page : pages) {
      count += page.items().size();
    }
    return count;
  }

  /**
   * The same batch (same id) with its pages replaced, e.g. normalised by the parser; written as
   * version 2 whatever version it was read as.
   */
  public DataBatch withPages(List<PageItems> replaced) {
    return new DataBatch(VERSION, batchId, stream, userId, runId, replaced, earlierItems);
  }
}
