package io.quarry.routes;

import io.quarry.config.MiningProperties;
import io.quarry.config.QuarryProperties;
import io.quarry.config.StreamProperties;
import java.util.List;
import java.util.Map;

/** Just enough configuration to build the routes without Spring. */
final class RouteTestProperties {

  private RouteTestProperties() {}

  static QuarryProperties withStream(String name, boolean parser) {
    StreamProperties stream =
        new StreamProperties(
            "0 0 0 1 1 ? 2099",
            "/users/{userId}/" + name,
            100,
            3,
            parser,
            List.of("raw-storage"),
            0);
    MiningProperties mining = io.quarry.support.TestProperties.mining(65536, 0);
    return io.quarry.support.TestProperties.of(null, Map.of(name, stream), mining);
  }
}
