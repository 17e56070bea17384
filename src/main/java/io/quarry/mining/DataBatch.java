package io.quarry.mining;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.UUID;

/**
 * One page of a user's items as it travels to the data topic (or the parser first).
 *
 * @param batchId deterministic ({@code run:user:stream:page}), so a page fetched again after a
 *     redelivery is recognised by the subscribers
 */
public record DataBatch(
    int version,
    String batchId,
    String stream,
    long userId,
    UUID runId,
    long page,
    List<JsonNode> items) {

  public static DataBatch of(
      String stream, long userId, UUID runId, long page, List<JsonNode> items) {
    return new DataBatch(
        1, runId + ":" + userId + ":" + stream + ":" + page, stream, userId, runId, page, items);
  }

  public DataBatch withItems(List<JsonNode> replaced) {
    return new DataBatch(version, batchId, stream, userId, runId, page, replaced);
  }
}
