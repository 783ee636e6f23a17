// SIGEC-VE: a JSON-lines front for the EXIficient codec jar (EXICodec.jar from the PyPI package
// iso15118, installed by `make exi-codec`). Run in source-file mode:
//   java -cp EXICodec.jar ExiServer.java
// One request per stdin line: {"op": "encode", "ns": "...", "json": "..."} or
// {"op": "decode", "ns": "...", "exi": "<base64>"} or {"op": "version"}; one answer per stdout
// line: {"exi": "<base64>"} / {"json": "..."} / {"version": "..."} or {"error": "..."}.
// The codec's own prints go to stderr so stdout carries only answers.
import com.siemens.ct.exi.main.cmd.EXICodec;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.json.JSONObject;

public final class ExiServer {
    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "UTF-8");
        System.setOut(System.err);
        EXICodec codec = new EXICodec();
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        out.println(new JSONObject().put("ready", true).toString());
        String line;
        while ((line = in.readLine()) != null) {
            JSONObject answer = new JSONObject();
            try {
                JSONObject request = new JSONObject(line);
                String op = request.getString("op");
                if (op.equals("encode")) {
                    byte[] exi = codec.encode(request.getString("json"), request.getString("ns"));
                    if (exi == null) {
                        answer.put("error", String.valueOf(codec.get_last_encoding_error()));
                    } else {
                        answer.put("exi", Base64.getEncoder().encodeToString(exi));
                    }
                } else if (op.equals("decode")) {
                    byte[] exi = Base64.getDecoder().decode(request.getString("exi"));
                    String json = codec.decode(exi, request.getString("ns"));
                    if (json == null) {
                        answer.put("error", String.valueOf(codec.get_last_decoding_error()));
                    } else {
                        answer.put("json", json);
                    }
                } else if (op.equals("version")) {
                    answer.put("version", String.valueOf(codec.get_version()));
                } else {
                    answer.put("error", "unknown op " + op);
                }
            } catch (Throwable exc) {
                answer.put("error", exc.toString());
            }
            out.println(answer.toString());
        }
    }
}
