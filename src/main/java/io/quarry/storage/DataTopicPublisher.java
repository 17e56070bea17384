package io.quarry.storage;

import io.quarry.bus.BusNames;
import io.quarry.bus.amqp.BatchPublisher;
import io.quarry.bus.amqp.Routed;
import io.quarry.message.DataBatch;
import java.util.List;
import org.springframework.stereotype.Component;

/**
 * Publishes a data batch, confirmed, to its stream's fanout topic or to its parser queue: on a
 * pooled confirm-mode channel ({@link BatchPublisher}), mandatory, one confirm awaited.
 */
@Component
public class DataTopicPublisher {

  private static final long CONFIRM_TIMEOUT_MILLIS = 10_000;

  private final BatchPublisher publisher;
  private final DataBatchCodec codec;
  private final BusNames names;

  public DataTopicPublisher(BatchPublisher publisher, DataBatchCodec codec, BusNames names) {
    this.publisher = publisher;
    this.codec = codec;
    this.names = names;
  }

  public void toTopic(DataBatch batch) {
    publisher.publishAll(
        List.of(new Routed(names.dataTopic(batch.stream()), "", codec.write(batch))),
        CONFIRM_TIMEOUT_MILLIS);
  }

  public void toParser(DataBatch batch) {
    publisher.publishAll(
        List.of(new Routed("", names.parserQueue(batch.stream()), codec.write(batch))),
        CONFIRM_TIMEOUT_MILLIS);
  }
}
