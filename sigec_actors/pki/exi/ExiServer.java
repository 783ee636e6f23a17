// SIGEC-VE: a JSON-lines front for the EXIficient codec jar (EXICodec.jar from the PyPI package
// iso15118, installed by `make exi-codec`). Run in source-file mode:
//   java -cp EXICodec.jar ExiServer.java
// One request per stdin line: {"ops": [op, ...]}, each op one of
//   {"op": "encode", "ns": "...", "json": "..."}   -> {"exi": "<base64>"}
//   {"op": "decode", "ns": "...", "exi": "<base64>"} -> {"json": "..."}
//   {"op": "version"} -> {"version": "..."};  {"op": "stats"} -> {"jaxbContexts": n}
// or {"error": "..."} for any of them; one answer per stdout line: {"results": [...]} in the
// same order. (A bare op, without "ops", gets a bare result.) The codec's own prints go to
// stderr so stdout carries only answers.
//
// Speed: the jar's EXICodec builds a new JAXBContext (and its marshallers) for every encode and
// decode, about 0.1 s each. Codec below is the same codec (EXICodec's encode/decode, on the
// jar's AbstractEXICodec) with one JAXBContext kept per set of message classes.
import com.siemens.ct.exi.main.cmd.AbstractEXICodec;
import com.siemens.ct.exi.main.cmd.BuiltInSchema;
import com.siemens.ct.exi.main.cmd.EXICodec;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.xml.bind.JAXBContext;
import javax.xml.bind.JAXBException;
import org.json.JSONArray;
import org.json.JSONObject;

public final class ExiServer {
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        System.setOut(System.err);
        Codec codec = new Codec();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        out.println(new JSONObject().put("ready", true).toString());
        String line;
        while ((line = in.readLine()) != null) {
            JSONObject answer;
            try {
                JSONObject request = new JSONObject(line);
                JSONArray ops = request.optJSONArray("ops");
                if (ops == null) {
                    answer = run(codec, request);
                } else {
                    JSONArray results = new JSONArray();
                    for (int i = 0; i < ops.length(); i++) {
                        results.put(run(codec, ops.getJSONObject(i)));
                    }
                    answer = new JSONObject().put("results", results);
                }
            } catch (Throwable exc) {
                answer = new JSONObject().put("error", exc.toString());
            }
            out.println(answer.toString());
        }
    }

    static JSONObject run(Codec codec, JSONObject request) {
        JSONObject answer = new JSONObject();
        try {
            String op = request.getString("op");
            if (op.equals("encode")) {
                byte[] exi = codec.encode(request.getString("json"), request.getString("ns"));
                if (exi == null) {
                    answer.put("error", String.valueOf(codec.encodingError()));
                } else {
                    answer.put("exi", Base64.getEncoder().encodeToString(exi));
                }
            } else if (op.equals("decode")) {
                byte[] exi = Base64.getDecoder().decode(request.getString("exi"));
                String json = codec.decode_exi(exi, Codec.schema(request.getString("ns")));
                if (json == null) {
                    answer.put("error", String.valueOf(codec.decodingError()));
                } else {
                    answer.put("json", json);
                }
            } else if (op.equals("version")) {
                answer.put("version", String.valueOf(codec.get_version()));
            } else if (op.equals("stats")) {
                answer.put("jaxbContexts", Codec.built);
            } else {
                answer.put("error", "unknown op " + op);
            }
        } catch (Throwable exc) {
            answer.put("error", exc.toString());
        }
        return answer;
    }

    /** EXICodec's encode/decode with one JAXBContext per set of message classes. */
    static final class Codec extends AbstractEXICodec {
        // EXICodec fills its namespace -> schema map in its constructor (which would load every
        // grammar a second time), so the same map is built here from its namespace constants.
        private static final Map<String, BuiltInSchema> SCHEMAS = new HashMap<>();
        static {
            String[][] pairs = {{"AppProtocolNS", "AppProtocol"}, {"MsgDefNS", "ISO15118_2"},
                {"CommonMessagesNS", "ISO15118_20_V2G_CI_CommonMessages"},
                {"ACNS", "ISO15118_20_V2G_CI_AC"}, {"DCNS", "ISO15118_20_V2G_CI_DC"},
                {"WPTNS", "ISO15118_20_V2G_CI_WPT"}, {"ACDPNS", "ISO15118_20_V2G_CI_ACDP"},
                {"XMLDSigNS", "XSDCore"}, {"DINSpec_70121", "DINSpec_70121"}};
            try {
                for (String[] pair : pairs) {
                    Field field = EXICodec.class.getDeclaredField(pair[0]);
                    field.setAccessible(true);
                    SCHEMAS.put((String) field.get(null), BuiltInSchema.valueOf(pair[1]));
                }
            } catch (ReflectiveOperationException exc) {
                throw new ExceptionInInitializerError(exc);
            }
        }
        // static: the jar's constructor calls setJaxbContext before our fields exist
        private static final Map<List<Class<?>>, JAXBContext> contexts = new HashMap<>();
        static int built;  // JAXBContexts made so far (the "stats" op)

        static BuiltInSchema schema(String namespace) {
            BuiltInSchema schema = SCHEMAS.get(namespace);
            if (schema == null) {
                throw new IllegalArgumentException("unknown namespace " + namespace);
            }
            return schema;
        }

        @Override
        protected synchronized void setJaxbContext(Class... classes) {
            try {
                List<Class<?>> key = Arrays.asList((Class<?>[]) classes);
                JAXBContext context = contexts.get(key);
                if (context == null) {
                    context = JAXBContext.newInstance(classes);
                    built++;
                    contexts.put(key, context);
                }
                setUnmarshaller(context.createUnmarshaller());
                setMarshaller(context.createMarshaller());
                getUnmarshaller().setEventHandler(event -> {
                    throw new RuntimeException(event.getMessage(), event.getLinkedException());
                });
            } catch (JAXBException exc) {
                System.err.println("A JAXBException occurred while trying to set JAXB context" + exc);
            }
        }

        String encodingError() {
            return lastEncodingError;
        }

        String decodingError() {
            return lastDecodingError;
        }

        byte[] encode(String json, String namespace) {
            resetLastEncodingError();
            try {
                return encode_json(json, schema(namespace));
            } catch (Exception exc) {
                setLastEncodingError(exc.toString());
                return null;
            }
        }

        @Override
        public float get_version() {
            try {
                Field version = EXICodec.class.getDeclaredField("version");
                version.setAccessible(true);
                return version.getFloat(null);
            } catch (ReflectiveOperationException exc) {
                return -1;
            }
        }
    }
}
