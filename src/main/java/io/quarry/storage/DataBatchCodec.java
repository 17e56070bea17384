package io.quarry.storage;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.bus.Payloads;
import io.quarry.config.QuarryProperties;
import io.quarry.mining.DataBatch;
import io.quarry.mining.InvalidMessageException;
import java.io.IOException;
import org.apache.camel.Header;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.springframework.amqp.core.Message;
import org.springframework.stereotype.Component;

/**
 * Reads and writes data batches (gzip or not), refusing malformed ones. Writes version 2 (pages);
 * reads version 1 (one page) too, see {@link DataBatch}.
 */
@Component
public class DataBatchCodec {

  private final ObjectMapper json;
  private final QuarryProperties properties;

  public DataBatchCodec(ObjectMapper json, QuarryProperties properties) {
    this.json = json;
    this.properties = properties;
  }

  public DataBatch read(
      byte[] body, @Header(SpringRabbitMQConstants.CONTENT_ENCODING) String contentEncoding) {
    DataBatch batch;
    try {
      batch = json.readValue(Payloads.decode(body, contentEncoding), DataBatch.class);
    } catch (IOException | IllegalArgumentException e) {
      throw new InvalidMessageException("data batch is not valid JSON: " + e.getMessage());
    }
    if ((batch.version() != 1 && batch.version() != DataBatch.VERSION)
        || batch.batchId() == null
        || batch.stream() == null
        || !properties.streams().containsKey(batch.stream())
        || batch.userId() <= 0
        || batch.runId() == null
        || batch.pages() == null
        || batch.pages().isEmpty()) {
      throw new InvalidMessageException(
          "data batch lacks version 1 or 2, batchId, stream, userId, runId or pages (items)");
    }
    String idField = properties.platform().itemIdField();
    for (DataBatch.PageItems page : batch.pages()) {
      if (page == null || page.page() <= 0 || page.items() == null) {
        throw new InvalidMessageException("data batch has a page without its number or items");
      }
      for (var item : page.items()) {
        if (item == null || !item.hasNonNull(idField)) {
          throw new InvalidMessageException("data batch has an item without " + idField);
        }
      }
    }
    return batch;
  }

  public Message write(DataBatch batch) {
    try {
      Message message =
          Payloads.json(json.writeValueAsBytes(batch), properties.mining().compressionThreshold());
      message.getMessageProperties().setType("DataBatch");
      message.getMessageProperties().setMessageId(batch.batchId());
      return message;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
