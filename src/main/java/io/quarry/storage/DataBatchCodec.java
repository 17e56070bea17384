package io.quarry.storage;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.bus.Payloads;
import io.quarry.config.QuarryProperties;
import io.quarry.mining.DataBatch;
import io.quarry.mining.InvalidMessageException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.camel.Header;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.springframework.amqp.core.Message;
import org.springframework.stereotype.Component;

/**
 * Reads and writes data batches (gzip or not), refusing malformed ones. Writes version 2 (pages);
 * reads version 1 (one page) too, see {@link DataBatch}. Two readers: {@link #read} builds the
 * object tree of every item (the parser normalises items); {@link #readReceived}, for the
 * subscribers, streams through the batch once and keeps each item as its JSON text with its id and
 * day. Both refuse the same malformed batches.
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
    requireHeader(
        batch.version(),
        batch.batchId(),
        batch.stream(),
        batch.userId(),
        batch.runId(),
        batch.pages());
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

  /**
   * The batch for the subscribers, without object trees: one pass of the streaming parser, each
   * item's text cut from the body. Refuses what {@link #read} refuses, and an item whose id is not
   * text or an integer (as the miner's page reader does).
   */
  public ReceivedBatch readReceived(
      byte[] body, @Header(SpringRabbitMQConstants.CONTENT_ENCODING) String contentEncoding) {
    byte[] bytes;
    try {
      bytes = Payloads.decode(body, contentEncoding);
    } catch (IllegalArgumentException e) {
      throw new InvalidMessageException("data batch is not valid JSON: " + e.getMessage());
    }
    Fields fields = new Fields();
    try (JsonParser parser = json.getFactory().createParser(bytes)) {
      if (parser.nextToken() != JsonToken.START_OBJECT) {
        throw new InvalidMessageException("data batch is not valid JSON: not an object");
      }
      readFields(parser, bytes, fields);
    } catch (IOException | IllegalArgumentException e) {
      throw new InvalidMessageException("data batch is not valid JSON: " + e.getMessage());
    }
    List<ReceivedBatch.Page> pages = fields.pages;
    if (fields.version == 1 && pages == null && fields.items != null) {
      pages = List.of(new ReceivedBatch.Page(fields.page == null ? 0 : fields.page, fields.items));
    }
    requireHeader(
        fields.version, fields.batchId, fields.stream, fields.userId, fields.runId, pages);
    for (ReceivedBatch.Page page : pages) {
      if (page.page() <= 0 || page.items() == null) {
        throw new InvalidMessageException("data batch has a page without its number or items");
      }
    }
    return new ReceivedBatch(
        fields.version, fields.batchId, fields.stream, fields.userId, fields.runId, pages);
  }

  /** What both readers demand of a batch besides its pages' contents. */
  private void requireHeader(
      int version, String batchId, String stream, long userId, UUID runId, List<?> pages) {
    if ((version != 1 && version != DataBatch.VERSION)
        || batchId == null
        || stream == null
        || !properties.streams().containsKey(stream)
        || userId <= 0
        || runId == null
        || pages == null
        || pages.isEmpty()) {
      throw new InvalidMessageException(
          "data batch lacks version 1 or 2, batchId, stream, userId, runId or pages (items)");
    }
  }

  /** The top-level fields of a batch, as far as they were found. */
  private static final class Fields {
    int version = -1;
    String batchId;
    String stream;
    long userId;
    UUID runId;
    List<ReceivedBatch.Page> pages;
    Long page;
    List<ReceivedBatch.Item> items;
  }

  private void readFields(JsonParser parser, byte[] bytes, Fields fields) throws IOException {
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken value = parser.nextToken();
      switch (name) {
        case "version" ->
            fields.version = value == JsonToken.VALUE_NUMBER_INT ? parser.getIntValue() : -1;
        case "batchId" -> fields.batchId = text(parser, value);
        case "stream" -> fields.stream = text(parser, value);
        case "userId" ->
            fields.userId = value == JsonToken.VALUE_NUMBER_INT ? parser.getLongValue() : 0;
        case "runId" -> {
          String run = text(parser, value);
          fields.runId = run == null ? null : UUID.fromString(run);
        }
        case "pages" -> fields.pages = value == JsonToken.START_ARRAY ? pages(parser, bytes) : null;
        case "page" ->
            fields.page = value == JsonToken.VALUE_NUMBER_INT ? parser.getLongValue() : null;
        case "items" -> fields.items = value == JsonToken.START_ARRAY ? items(parser, bytes) : null;
        default -> parser.skipChildren();
      }
      if (value != null && value.isStructStart() && parser.currentToken() == value) {
        parser.skipChildren(); // a field of the right name but the wrong shape
      }
    }
  }

  private List<ReceivedBatch.Page> pages(JsonParser parser, byte[] bytes) throws IOException {
    List<ReceivedBatch.Page> pages = new ArrayList<>();
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
      if (token != JsonToken.START_OBJECT) {
        throw new InvalidMessageException("data batch has a page without its number or items");
      }
      long number = 0;
      List<ReceivedBatch.Item> items = null;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if ("page".equals(name) && value == JsonToken.VALUE_NUMBER_INT) {
          number = parser.getLongValue();
        } else if ("items".equals(name) && value == JsonToken.START_ARRAY) {
          items = items(parser, bytes);
        } else {
          parser.skipChildren();
        }
      }
      pages.add(new ReceivedBatch.Page(number, items));
    }
    return pages;
  }

  private List<ReceivedBatch.Item> items(JsonParser parser, byte[] bytes) throws IOException {
    String idField = properties.platform().itemIdField();
    List<ReceivedBatch.Item> items = new ArrayList<>();
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
      if (token != JsonToken.START_OBJECT) {
        throw new InvalidMessageException("data batch has an item without " + idField);
      }
      int start = (int) parser.currentTokenLocation().getByteOffset();
      String id = null;
      LocalDate day = null;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if (idField.equals(name)) {
          id =
              value == JsonToken.VALUE_STRING || value == JsonToken.VALUE_NUMBER_INT
                  ? parser.getText()
                  : null;
        } else if ("createdAt".equals(name)) {
          day = value == JsonToken.VALUE_STRING ? ItemDays.parse(parser.getText()) : null;
        }
        parser.skipChildren();
      }
      int end = (int) parser.currentLocation().getByteOffset();
      if (id == null || id.isBlank()) {
        throw new InvalidMessageException("data batch has an item without " + idField);
      }
      items.add(
          new ReceivedBatch.Item(
              id, new String(bytes, start, end - start, StandardCharsets.UTF_8), day));
    }
    return items;
  }

  private static String text(JsonParser parser, JsonToken value) throws IOException {
    return value == JsonToken.VALUE_STRING ? parser.getText() : null;
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
