package dev.adnomaly.flink;

import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * {@code CONTAINS_ANY_MARKER(text, 'm1|m2|...')}: whether the lowered text contains any of the
 * '|'-separated lowercase markers (NULL when text is NULL). The features job's suspicious-UA
 * test: one lowering and a String.indexOf per marker, instead of a regex tried at every position
 * of the string (a quarter of the TaskManager's CPU, JFR at 22,000 events/s).
 */
public class ContainsAnyMarker extends ScalarFunction {
    private static final ConcurrentHashMap<String, String[]> SPLIT = new ConcurrentHashMap<>();

    public Boolean eval(String text, String markers) {
        if (text == null || markers == null) {
            return null;
        }
        String lowered = text.toLowerCase(Locale.ROOT);
        for (String marker : SPLIT.computeIfAbsent(markers, m -> m.split("\\|"))) {
            if (lowered.contains(marker)) {
                return true;
            }
        }
        return false;
    }
}
