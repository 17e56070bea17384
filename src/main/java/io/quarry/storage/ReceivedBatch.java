package io.quarry.storage;

import io.quarry.message.DataBatch;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A data batch as the subscribers read it ({@link DataBatchCodec#readReceived}): each item as the
 * JSON text it travelled in, with its id and day, and no object tree. What raw storage stores is
 * that text, so an item is parsed once on its way to PostgreSQL and never written out again.
 *
 * @param pages the pages in the order fetched, each with its number in the run (1-based)
 * @param earlierItems whether an earlier run may have stored items of this user's stream ({@link
 *     DataBatch#earlierItems()}; true when the batch does not say)
 */
public record ReceivedBatch(
    int version,
    String batchId,
    String stream,
    long userId,
    UUID runId,
    List<Page> pages,
    boolean earlierItems) {

  /** One page of the batch: its number in the user's run and its items. */
  public record Page(long page, List<Item> items) {}

  /**
   * One item. What a subscriber does not use is not kept ({@link DataBatchCodec#readDays}, {@link
   * DataBatchCodec#readChecked}): null.
   *
   * @param id the value of the configured id field (text or integer)
   * @param json the item's JSON object, as received
   * @param day its UTC day from {@code createdAt} ({@link ItemDays}), null without one
   */
  public record Item(String id, String json, LocalDate day) {}

  /** The deterministic id of one of this batch's pages ({@link DataBatch#pageId}). */
  public String pageId(long page) {
    return DataBatch.pageId(runId, userId, stream, page);
  }

  /** Every item of every page, in order. */
  public List<Item> items() {
    if (pages.size() == 1) {
      return pages.get(0).items();
    }
    List<Item> all = new ArrayList<>(itemCount());
    for (Page page : pages) {
      all.addAll(page.items());
    }
    return all;
  }

  /** How many items the batch holds over all its pages. */
  public int itemCount() {
    int count = 0;
    for (Page page : pages) {
      count += page.items().size();
    }
    return count;
  }
}
