package io.quarry.storage;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarry.bus.Payloads;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import io.quarry.message.DataBatch;
import io.quarry.message.InvalidMessageException;
import io.quarry.platform.StreamApi;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.camel.Header;
import org.apache.camel.component.springrabbit.SpringRabbitMQConstants;
import org.springframework.amqp.core.Message;
import org.springframework.stereotype.Component;

/**
 * Reads and writes data batches (gzip or not), refusing malformed ones. Writes version 2 (pages);
 * reads version 1 (one page) too, see {@link DataBatch}. Two readers: {@link #read} builds the
 * object tree of every item (the parser normalises items); {@link #readReceived}, for the
 * subscribers, streams through the batch once and keeps each item as its JSON text with its id and
 * day, or only what a subscriber uses ({@link #readDays}, {@link #readChecked}). All refuse the
 * same malformed batches.
 */
@Component
public class DataBatchCodec {

  /** What the subscribers' reader keeps of each item (it checks every item either way). */
  enum Keep {
    /** id, JSON text and day (raw storage). */
    ITEMS,
    /** the day only (analytics). */
    DAYS,
    /** nothing (notification: the batch's header is all it uses). */
    NOTHING
  }

  private final ObjectMapper json;
  private final QuarryProperties properties;
  // Per stream: the id of an item, items.id-path over quarry.platform.item-id-field.
  private final Map<String, JsonPointer> idPointers = new ConcurrentHashMap<>();

  public DataBatchCodec(ObjectMapper json, QuarryProperties properties) {
    this.json = json;
    this.properties = properties;
  }

  /**
   * Where an item of the stream keeps its id: the stream's {@code items.id-path}, else {@code
   * /<quarry.platform.item-id-field>}; an unknown stream (refused later) reads the latter.
   */
  public JsonPointer idPointer(String stream) {
    StreamProperties config = stream == null ? null : properties.streams().get(stream);
    if (config == null) {
      return JsonPointer.compile(StreamApi.fieldPointer(properties.platform().itemIdField()));
    }
    return idPointers.computeIfAbsent(
        stream, s -> JsonPointer.compile(config.api(properties.platform()).itemIdPath()));
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
    JsonPointer id = idPointer(batch.stream());
    for (DataBatch.PageItems page : batch.pages()) {
      if (page == null || page.page() <= 0 || page.items() == null) {
        throw new InvalidMessageException("data batch has a page without its number or items");
      }
      for (var item : page.items()) {
        if (item == null || item.at(id).isMissingNode() || item.at(id).isNull()) {
          throw new InvalidMessageException(
              "data batch has an item without "
                  + (id.tail().matches() ? id.getMatchingProperty() : id.toString()));
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
    return readReceived(body, contentEncoding, Keep.ITEMS);
  }

  /**
   * As {@link #readReceived}, refusing the same batches, but keeping only each item's day (its id
   * and text are null): what analytics counts, without building strings it would not use.
   */
  public ReceivedBatch readDays(
      byte[] body, @Header(SpringRabbitMQConstants.CONTENT_ENCODING) String contentEncoding) {
    return readReceived(body, contentEncoding, Keep.DAYS);
  }

  /**
   * As {@link #readReceived}, refusing the same batches, but keeping nothing of the items (id, text
   * and day are null): notification only needs the batch's header, yet refuses a malformed batch as
   * raw storage does, so that no digest announces data that was not stored.
   */
  public ReceivedBatch readChecked(
      byte[] body, @Header(SpringRabbitMQConstants.CONTENT_ENCODING) String contentEncoding) {
    return readReceived(body, contentEncoding, Keep.NOTHING);
  }

  ReceivedBatch readReceived(byte[] body, String contentEncoding, Keep keep) {
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
      readFields(parser, bytes, keep, fields);
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
        fields.version,
        fields.batchId,
        fields.stream,
        fields.userId,
        fields.runId,
        pages,
        fields.earlierItems);
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
    boolean earlierItems = true;
  }

  private void readFields(JsonParser parser, byte[] bytes, Keep keep, Fields fields)
      throws IOException {
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
        case "pages" ->
            fields.pages =
                value == JsonToken.START_ARRAY
                    ? pages(parser, bytes, keep, idPointer(fields.stream))
                    : null;
        case "page" ->
            fields.page = value == JsonToken.VALUE_NUMBER_INT ? parser.getLongValue() : null;
        case "items" ->
            fields.items =
                value == JsonToken.START_ARRAY
                    ? items(parser, bytes, keep, idPointer(fields.stream))
                    : null;
        case "earlierItems" -> fields.earlierItems = value != JsonToken.VALUE_FALSE;
        default -> parser.skipChildren();
      }
      if (value != null && value.isStructStart() && parser.currentToken() == value) {
        parser.skipChildren(); // a field of the right name but the wrong shape
      }
    }
  }

  private List<ReceivedBatch.Page> pages(JsonParser parser, byte[] bytes, Keep keep, JsonPointer id)
      throws IOException {
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
          items = items(parser, bytes, keep, id);
        } else {
          parser.skipChildren();
        }
      }
      pages.add(new ReceivedBatch.Page(number, items));
    }
    return pages;
  }

  private List<ReceivedBatch.Item> items(
      JsonParser parser, byte[] bytes, Keep keep, JsonPointer idPointer) throws IOException {
    String idField = idPointer.getMatchingProperty();
    JsonPointer below = idPointer.tail();
    // the field's name for a top-level id (as the miner's page reader says it), else the pointer
    String idName = below.matches() ? idField : idPointer.toString();
    List<ReceivedBatch.Item> items = new ArrayList<>();
    JsonToken token;
    while ((token = parser.nextToken()) != JsonToken.END_ARRAY) {
      if (token != JsonToken.START_OBJECT) {
        throw new InvalidMessageException("data batch has an item without " + idName);
      }
      int start = (int) parser.currentTokenLocation().getByteOffset();
      IdFound id = new IdFound();
      LocalDate day = null;
      while (parser.nextToken() == JsonToken.FIELD_NAME) {
        String name = parser.currentName();
        JsonToken value = parser.nextToken();
        if (idField.equals(name)) {
          findId(parser, value, below, keep == Keep.ITEMS, id);
        } else if (keep != Keep.NOTHING && "createdAt".equals(name)) {
          day = value == JsonToken.VALUE_STRING ? ItemDays.parse(parser.getText()) : null;
        }
        parser.skipChildren();
      }
      if (!id.usable) {
        throw new InvalidMessageException("data batch has an item without " + idName);
      }
      String text = null;
      if (keep == Keep.ITEMS) {
        int end = (int) parser.currentLocation().getByteOffset();
        text = new String(bytes, start, end - start, StandardCharsets.UTF_8);
      }
      items.add(new ReceivedBatch.Item(id.text, text, day));
    }
    return items;
  }

  /** An item's id as the streaming reader finds it. */
  private static final class IdFound {
    boolean usable;
    String text;
  }

  /**
   * Reads the id at {@code below} within the value just entered ({@code value}): the value itself
   * when {@code below} is empty, else the field it names within this object, recursively (a nested
   * {@code items.id-path} such as {@code /meta/key}). Leaves the parser on the value's last token.
   */
  private static void findId(
      JsonParser parser, JsonToken value, JsonPointer below, boolean keepText, IdFound id)
      throws IOException {
    if (below.matches()) {
      id.usable = usableId(parser, value);
      id.text = id.usable && keepText ? parser.getText() : null;
      return;
    }
    if (value != JsonToken.START_OBJECT) {
      return;
    }
    String field = below.getMatchingProperty();
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String name = parser.currentName();
      JsonToken inner = parser.nextToken();
      if (field.equals(name)) {
        findId(parser, inner, below.tail(), keepText, id);
      }
      parser.skipChildren();
    }
  }

  /** An id of text that is not blank, or an integer (read without building its string). */
  private static boolean usableId(JsonParser parser, JsonToken value) throws IOException {
    if (value == JsonToken.VALUE_NUMBER_INT) {
      return true;
    }
    if (value != JsonToken.VALUE_STRING) {
      return false;
    }
    char[] chars = parser.getTextCharacters();
    int end = parser.getTextOffset() + parser.getTextLength();
    for (int i = parser.getTextOffset(); i < end; i++) {
      if (!Character.isWhitespace(chars[i])) {
        return true;
      }
    }
    return false;
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
