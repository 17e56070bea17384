package io.quarry.routes.mining;

import io.quarry.bus.BusNames;
import io.quarry.bus.Endpoints;
import io.quarry.config.QuarryProperties;
import io.quarry.message.MiningMessageCodec;
import io.quarry.mining.Miner;
import io.quarry.routes.deadletter.BusErrorHandling;
import org.apache.camel.Exchange;
import org.apache.camel.Predicate;
import org.apache.camel.builder.RouteBuilder;
import org.springframework.stereotype.Component;

/**
 * One miner per stream: consumes the stream's mining queue (manual acknowledgement after the route,
 * bounded consumers and prefetch), loops over up to {@code pages-per-message} pages of the user
 * inside one exchange, then queues the continuation or ends the chain.
 */
@Component
public class MinerRoutes extends RouteBuilder {

  private final QuarryProperties properties;
  private final BusNames names;
  private final Endpoints endpoints;

  public MinerRoutes(QuarryProperties properties, BusNames names, Endpoints endpoints) {
    this.properties = properties;
    this.names = names;
    this.endpoints = endpoints;
  }

  public static String worker(String stream) {
    return "direct:" + stream + "-miner";
  }

  @Override
  public void configure() {
    var mining = properties.mining();
    for (String stream : properties.streams().keySet()) {
      String queue = names.miningQueue(stream);
      BusErrorHandling.consumeQueue(
          this,
          endpoints.consume(
              names.redeliverExchange(), queue, mining.consumers(), mining.prefetch()),
          queue,
          stream + "-miner",
          worker(stream));

      from(worker(stream))
          .routeId(stream + "-miner-pages")
          .routeConfigurationId(BusErrorHandling.ID)
          .bean(MiningMessageCodec.class, "read")
          .process(StripCamelHeaders.INSTANCE)
          .bean(Miner.class, "begin")
          .loopDoWhile(new AnotherPage())
          .bean(Miner.class, "fetchPage")
          .end()
          .bean(Miner.class, "end");
    }
  }

  /**
   * The loop's condition, {@link Miner#wantsAnotherPage}, called on the miner bean directly: a
   * {@code method(...)} expression would copy the whole exchange at every evaluation, once per page
   * and once more at the end.
   */
  private static final class AnotherPage implements Predicate {
    private volatile Miner miner;

    @Override
    public boolean matches(Exchange exchange) {
      Miner bean = miner;
      if (bean == null) {
        bean = exchange.getContext().getRegistry().findSingleByType(Miner.class);
        miner = bean;
      }
      return bean.wantsAnotherPage(exchange);
    }

    @Override
    public String toString() {
      return "bean:Miner.wantsAnotherPage";
    }
  }
}
