package io.quarry.mining;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.quarry.message.DataBatch;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Validates and normalises raw ad-click batches before they reach the data topic: a click needs an
 * ad id, a parseable click time and a non-negative decimal cost; it leaves with the ad id in lower
 * case, the time in UTC and the cost with four decimals. Invalid clicks are dropped and counted.
 */
@Component
public class ClickParser {

  private static final Logger log = LoggerFactory.getLogger(ClickParser.class);

  /** Normalises every page of the batch, keeping its pages (a page may end up empty). */
  public DataBatch parse(DataBatch batch) {
    List<DataBatch.PageItems> pages = new ArrayList<>(batch.pages().size());
    int rejected = 0;
    for (DataBatch.PageItems page : batch.pages()) {
      List<JsonNode> valid = new ArrayList<>(page.items().size());
      for (JsonNode item : page.items()) {
        JsonNode normalised = normalise(item);
        if (normalised == null) {
          rejected++;
        } else {
          valid.add(normalised);
        }
      }
      pages.add(page.withItems(valid));
    }
    if (rejected > 0) {
      log.warn(
          "Batch {}: dropped {} invalid clicks of {}",
          batch.batchId(),
          rejected,
          batch.itemCount());
    }
    return batch.withPages(pages);
  }

  static JsonNode normalise(JsonNode item) {
    String adId = item.path("adId").asText("").trim();
    if (adId.isEmpty() || !item.isObject()) {
      return null;
    }
    OffsetDateTime clickedAt;
    BigDecimal cost;
    try {
      clickedAt = OffsetDateTime.parse(item.path("clickedAt").asText());
      cost = new BigDecimal(item.path("cost").asText());
    } catch (RuntimeException e) {
      return null;
    }
    if (cost.signum() < 0) {
      return null;
    }
    ObjectNode clean = ((ObjectNode) item).deepCopy();
    clean.put("adId", adId.toLowerCase(Locale.ROOT));
    clean.put("clickedAt", clickedAt.withOffsetSameInstant(ZoneOffset.UTC).toString());
    clean.put("cost", cost.setScale(4, RoundingMode.HALF_UP).toPlainString());
    return clean;
  }
}
